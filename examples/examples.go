// Package examples ships the example apps inside the nonstop binary, so that
// `nonstop demo` works from any folder.
package examples

import "embed"

// FS holds the example apps, one folder each.
//
//go:embed hello all:hello-docker
var FS embed.FS
