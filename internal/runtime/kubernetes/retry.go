package kubernetes

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// transientBackoff spaces the tries of a call that met a passing error:
// 0.2, 0.4, 0.8, 1.6 s (about 3 s in all).
var transientBackoff = wait.Backoff{Steps: 5, Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1}

// transient reports whether err may pass by itself: the API server busy,
// timing out or restarting, or the connection to it cut.
func transient(err error) bool {
	return apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) ||
		utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err) || utilnet.IsProbableEOF(err)
}

// withRetry runs fn, an idempotent change, again while it meets a
// transient error, until it succeeds, fails otherwise, or ctx ends.
func withRetry(ctx context.Context, fn func() error) error {
	return retry.OnError(transientBackoff, func(err error) bool { return ctx.Err() == nil && transient(err) }, fn)
}
