//go:build tools

// Package kwok pins the kwok command this module builds.
package kwok

import _ "sigs.k8s.io/kwok/cmd/kwok"
