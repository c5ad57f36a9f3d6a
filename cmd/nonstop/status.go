package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nonstopdev/nonstop/internal/detect"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

func newStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status APP",
		Short: "Show an app's live release, its last rollout and its instances",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "app:      %s (%s)\n", st.Name, st.State)
			fmt.Fprintf(out, "urls:     %s\n", strings.Join(st.URLs, " "))
			if h := st.Hold; h != nil {
				fmt.Fprintf(out, "hold:     new requests held since %s (at most %s each, %d at once); `nonstop unhold %s` lets them through\n",
					h.Since.Local().Format(time.TimeOnly), h.MaxWait, h.MaxQueue, st.Name)
			}
			if st.Live != nil {
				fmt.Fprintf(out, "live:     v%d, %s, %s\n", st.Live.Version, st.Live.Description, st.Live.CreatedAt.Local().Format(time.DateTime))
				var sp struct {
					Detected *detect.Plan `json:"detected"`
				}
				if json.Unmarshal(st.Live.Spec, &sp) == nil && sp.Detected != nil {
					fmt.Fprintf(out, "source:   %s\n", sp.Detected)
				}
			} else {
				fmt.Fprintln(out, "live:     none (deploy it: nonstop deploy --app "+st.Name+")")
			}
			if r := st.Rollout; r != nil {
				line := fmt.Sprintf("#%d %s v%d→v%d: %s", r.ID, r.Kind, r.FromRelease, r.ToRelease, r.State)
				if r.Reason != "" {
					line += " (" + firstLine(r.Reason) + ")"
				}
				fmt.Fprintf(out, "rollout:  %s\n", line)
			}
			if st.Waiting != "" {
				fmt.Fprintf(out, "waiting:  %s\n", st.Waiting)
			}
			for _, p := range st.Problems {
				fmt.Fprintf(out, "problem:  %s\n", p)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "\nINSTANCE\tRELEASE\tSTATE\tPROCESS\tHEALTH\tADDR\tIN FLIGHT\tREQUESTS")
			for _, in := range st.Instances {
				proc, health, inflight, reqs := "-", "-", "-", "-"
				switch {
				case in.Node != "":
					proc = "pod on " + in.Node
				case in.Runtime != nil:
					proc = fmt.Sprintf("%s pid %d", in.Runtime.State, in.Runtime.PID)
				}
				if in.Runtime != nil {
					if in.Runtime.Restarts > 0 {
						proc += fmt.Sprintf(", %d restarts", in.Runtime.Restarts)
					}
					if in.Runtime.MemoryBytes > 0 {
						proc += fmt.Sprintf(", cpu %.1f%%, mem %.1f MiB", in.Runtime.CPUPercent, float64(in.Runtime.MemoryBytes)/(1<<20))
					}
				}
				if in.Proxy != nil {
					health = "healthy"
					if !in.Proxy.Healthy {
						health = "unhealthy: " + in.Proxy.LastErr
					}
					inflight, reqs = fmt.Sprint(in.Proxy.InFlight), fmt.Sprint(in.Proxy.Requests)
				}
				if in.Problem != "" {
					health = "not ready: " + in.Problem
				}
				fmt.Fprintf(tw, "%s\tv%d\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Release, in.State, proc, health, in.Addr, inflight, reqs)
			}
			return tw.Flush()
		},
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func newReleasesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "releases APP",
		Short: "List an app's releases, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			rels, err := c.Releases(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "RELEASE\tSTATUS\tBUILD\tCREATED\tDESCRIPTION")
			for _, r := range rels {
				fmt.Fprintf(tw, "v%d\t%s\t#%d\t%s\t%s\n", r.Version, r.Status, r.Build, r.CreatedAt.Local().Format(time.DateTime), r.Description)
			}
			return tw.Flush()
		},
	}
}

func newLogsCmd() *cobra.Command {
	var followLogs bool
	var tail int
	cmd := &cobra.Command{
		Use:   "logs APP",
		Short: "Show the output of an app's instances",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := apiClient(cmd)
			if err != nil {
				return err
			}
			var out io.Writer = os.Stdout
			if term.IsTerminal(int(os.Stdout.Fd())) {
				out = &escaper{w: os.Stdout} // what an app prints is shown, not obeyed
			}
			return c.Logs(cmd.Context(), args[0], tail, followLogs, out)
		},
	}
	cmd.Flags().BoolVarP(&followLogs, "follow", "f", false, "keep streaming new output")
	cmd.Flags().IntVarP(&tail, "tail", "n", 100, "lines from the end of each instance's output")
	return cmd
}
