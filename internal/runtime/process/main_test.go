package process

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

// controlPlaneEnv makes the test binary act as a control plane: it starts
// one instance in the folder it names, prints the instance's PID and waits
// to be killed.
const controlPlaneEnv = "PROCESS_TEST_CONTROL_PLANE"

func TestMain(m *testing.M) {
	if dir := os.Getenv(controlPlaneEnv); dir != "" {
		os.Exit(runControlPlane(dir))
	}
	os.Exit(m.Run())
}

func runControlPlane(dir string) int {
	rt, err := New(Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	inst, err := rt.Start(context.Background(), runtime.InstanceSpec{
		ID: "survivor-1", App: "app", Release: 1, Dir: dir,
		Command: `while :; do echo tick; sleep 0.02; done`,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(inst.PID)
	time.Sleep(time.Minute) // killed long before
	return 0
}
