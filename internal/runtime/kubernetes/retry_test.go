package kubernetes

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestWithRetry_TriesAgainOnlyWhileTheErrorMayPass(t *testing.T) {
	busy := apierrors.NewTooManyRequests("busy", 0)
	gone := apierrors.NewNotFound(schema.GroupResource{Resource: "services"}, "web")
	for _, tc := range []struct {
		name      string
		errs      []error // what each try returns, in order
		wantTries int
		wantErr   error
	}{
		{"a passing error, then success", []error{busy, apierrors.NewServiceUnavailable("restarting"), nil}, 3, nil},
		{"an error that will not pass", []error{gone, nil}, 1, gone},
		{"a passing error that stays", []error{busy, busy, busy, busy, busy, busy}, 5, busy},
	} {
		tries := 0
		err := withRetry(context.Background(), func() error {
			tries++
			return tc.errs[tries-1]
		})
		if tries != tc.wantTries || !errors.Is(err, tc.wantErr) && err != tc.wantErr {
			t.Errorf("%s: %d tries, error %v; want %d tries, error %v", tc.name, tries, err, tc.wantTries, tc.wantErr)
		}
	}
}
