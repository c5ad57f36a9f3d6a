package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/nonstopdev/nonstop/internal/archive"
)

// buildSource serves a running cluster build's source, as a tar.gz, to the
// build Job's fetch container. It takes the token that build was given
// (not a user's), good for this one build while it runs.
func (a *API) buildSource(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	dir, ok := "", false
	if err == nil && token != "" {
		dir, ok = a.Pipeline.BuildSource(r.PathValue("app"), n, token)
	}
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="nonstop build"`)
		writeError(w, fmt.Errorf("no running build with this token: %w", errUnauthorized))
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	if err := archive.PackTarGz(w, dir); err != nil {
		a.Logger.Error("serve build source", "app", r.PathValue("app"), "build", n, "err", err)
	}
}
