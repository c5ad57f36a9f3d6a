package gitserver

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nonstopdev/nonstop/internal/atomicfile"
)

func (h *Handler) repoDir(app string) string { return filepath.Join(h.cfg.Root, app+".git") }

// repoConfig is the configuration of every app repository.
var repoConfig = [][2]string{
	{"http.receivepack", "true"},
	{"http.uploadpack", "true"},
	// A corrupt or malformed object is refused at the door.
	{"receive.fsckObjects", "true"},
	// Force pushes deploy (pushing an older commit is a way back); the
	// reflog keeps every position the branches had.
	{"receive.denyNonFastForwards", "false"},
	{"core.logAllRefUpdates", "true"},
	// Deleting a branch that does not deploy is allowed; the hook refuses
	// to delete the deploy branch, which may differ per app.
	{"receive.denyDeletes", "false"},
	{"gc.autoDetach", "false"},
}

// ensureRepo creates the app's bare repository if it does not exist yet,
// then (re)writes its pre-receive hook, so that the hook always names the
// running binary.
func (h *Handler) ensureRepo(app string) error {
	h.initMu.Lock()
	defer h.initMu.Unlock()
	dir := h.repoDir(app)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if err := h.initRepo(app, dir); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	// HEAD names the deploy branch, so that a clone checks it out.
	head := []byte("ref: refs/heads/" + h.branch(app) + "\n")
	if have, err := os.ReadFile(filepath.Join(dir, "HEAD")); err != nil || !bytes.Equal(have, head) {
		if err := atomicfile.Write(filepath.Join(dir, "HEAD"), head, 0o644); err != nil {
			return err
		}
	}
	return h.writeHook(dir)
}

// initRepo creates the repository in a temp folder and renames it into
// place, so that a half-made repository is never served.
func (h *Handler) initRepo(app, dir string) error {
	if err := os.MkdirAll(h.cfg.Root, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", h.cfg.Root, err)
	}
	tmp, err := os.MkdirTemp(h.cfg.Root, "."+app+".init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if out, err := h.gitCmd("", "init", "--quiet", "--bare", "--initial-branch="+h.branch(app), tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("git init: %v: %s", err, bytes.TrimSpace(out))
	}
	// A core.hooksPath in a global config would bypass the hook: pin it.
	config := slices.Concat(repoConfig, [][2]string{{"core.hooksPath", filepath.Join(dir, "hooks")}})
	for _, kv := range config {
		if err := h.gitConfig(tmp, kv[0], kv[1]); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("create repository %s: %w", dir, err)
	}
	return nil
}

func (h *Handler) gitConfig(dir, key, value string) error {
	if out, err := h.gitCmd(dir, "config", key, value).CombinedOutput(); err != nil {
		return fmt.Errorf("git config %s: %v: %s", key, err, bytes.TrimSpace(out))
	}
	return nil
}

func (h *Handler) gitCmd(dir string, args ...string) *exec.Cmd {
	if dir != "" {
		args = append([]string{"--git-dir=" + dir}, args...)
	}
	cmd := exec.Command(h.git, args...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	return cmd
}

// hookScript is the pre-receive hook that runs cmd.
func hookScript(cmd []string) []byte {
	quoted := make([]string, len(cmd))
	for i, a := range cmd {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return []byte("#!/bin/sh\n# Installed by nonstop, rewritten on every push: deploys the pushed branch.\nexec " + strings.Join(quoted, " ") + "\n")
}

func (h *Handler) writeHook(dir string) error {
	path := filepath.Join(dir, "hooks", "pre-receive")
	want := hookScript(h.cfg.HookCommand)
	if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&0o100 != 0 {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.Write(path, want, 0o755)
}
