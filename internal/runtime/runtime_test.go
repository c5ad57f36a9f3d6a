package runtime_test

import (
	"testing"

	"github.com/nonstopdev/nonstop/internal/runtime"
)

func TestVolumeEnv_UpperCasesTheNameAndTurnsDashesToUnderscores(t *testing.T) {
	for name, want := range map[string]string{"data": "NONSTOP_VOLUME_DATA", "cache-2": "NONSTOP_VOLUME_CACHE_2"} {
		if got := runtime.VolumeEnv(name); got != want {
			t.Errorf("VolumeEnv(%q) = %s, want %s", name, got, want)
		}
	}
}
