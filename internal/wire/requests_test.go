package wire

import "testing"

func TestDeployOptions_QueryRoundTrips(t *testing.T) {
	for _, o := range []DeployOptions{{}, {Source: "cli"}, {Source: "cli", GitSHA: "0123456789abcdef", Strategy: "canary"}} {
		q := o.Query()
		if got := DeployOptionsOf(q); got != o {
			t.Errorf("%+v → %q → %+v", o, q.Encode(), got)
		}
		if o == (DeployOptions{}) && len(q) != 0 {
			t.Errorf("empty options make a query: %q", q.Encode())
		}
	}
}
