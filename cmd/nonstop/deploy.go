package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nonstopdev/nonstop/internal/archive"
	"github.com/nonstopdev/nonstop/internal/spec"
	"github.com/nonstopdev/nonstop/internal/wire"
)

func newDeployCmd() *cobra.Command {
	var appName, image, strategy string
	var detach bool
	cmd := &cobra.Command{
		Use:   "deploy [DIR]",
		Short: "Upload DIR (default .), build it and roll it out; exits 0 only when the new release is live",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if image != "" {
				return deployImage(cmd, dir, appName, image, detach)
			}
			sp, err := spec.Load(dir)
			if err != nil {
				return err
			}
			if strategy != "" {
				if _, err := sp.WithStrategy(spec.Strategy(strategy)); err != nil {
					return err
				}
			}
			if appName == "" {
				appName = sp.Name
			}
			if appName == "" {
				if appName = folderApp(dir); appName == "" {
					abs, _ := filepath.Abs(dir)
					return fmt.Errorf("which app? set `name:` in %s or pass --app (the folder's name %q is not an app name)", filepath.Join(dir, spec.FileName), filepath.Base(abs))
				}
				fmt.Fprintf(cmd.OutOrStdout(), "app %s, the folder's name (--app or `name:` in %s picks another)\n", appName, spec.FileName)
			}
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(archive.PackTarGz(pw, dir)) }()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "uploading %s to app %s\n", dir, appName)
			ro, err := c.DeployWith(cmd.Context(), appName, pr, wire.DeployOptions{Source: "cli", GitSHA: gitHead(dir), Strategy: strategy})
			pr.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "deploy #%d started\n", ro.ID)
			if detach {
				return nil
			}
			return follow(cmd, c, appName, ro.ID)
		},
	}
	cmd.Flags().StringVar(&appName, "app", "", "app name (default: name in nonstop.yaml)")
	cmd.Flags().StringVar(&image, "image", "", "deploy this prebuilt image (docker runtime)")
	cmd.Flags().StringVar(&strategy, "strategy", "", "rolling|bluegreen|canary (default: from nonstop.yaml)")
	cmd.Flags().BoolVar(&detach, "detach", false, "return once the deploy has started")
	return cmd
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// deployImage rolls out a prebuilt image with DIR's nonstop.yaml when it
// has one, else with the app's live spec.
func deployImage(cmd *cobra.Command, dir, appName, image string, detach bool) error {
	specYAML, err := os.ReadFile(filepath.Join(dir, spec.FileName))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	if len(specYAML) > 0 {
		sp, err := spec.Parse(specYAML)
		if err != nil {
			return err
		}
		if appName == "" {
			appName = sp.Name
		}
	}
	if appName == "" {
		return fmt.Errorf("which app? pass --app (or set `name:` in %s)", filepath.Join(dir, spec.FileName))
	}
	c, err := apiClient(cmd)
	if err != nil {
		return err
	}
	ro, err := c.DeployImage(cmd.Context(), appName, image, string(specYAML))
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "deploy #%d of image %s started\n", ro.ID, image)
	if detach {
		return nil
	}
	return follow(cmd, c, appName, ro.ID)
}

// gitHead returns the commit DIR is checked out at when it is a clean git
// work tree, else "": a commit id must name exactly what is deployed.
func gitHead(dir string) string {
	sha, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	if dirty, err := exec.Command("git", "-C", dir, "status", "--porcelain").Output(); err != nil || len(dirty) > 0 {
		return ""
	}
	return strings.TrimSpace(string(sha))
}

// folderApp is the app a folder deploys to when nothing names one: its
// name, lowercased, with what an app name cannot hold turned into '-'
// ("My Shop" is my-shop); "" when that is no app name.
func folderApp(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	name := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, filepath.Base(abs)), "-")
	if spec.ValidName(name) != nil {
		return ""
	}
	return name
}
