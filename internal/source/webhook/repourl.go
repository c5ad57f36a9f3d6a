package webhook

import (
	"net"
	"net/url"
	"path"
	"strings"
)

// defaultPorts are the ports a URL may name or leave out to the same
// effect.
var defaultPorts = map[string]string{
	"http": "80", "https": "443", "ssh": "22", "git+ssh": "22", "ssh+git": "22", "git": "9418",
}

// NormalizeRepoURL reduces a repository URL to a form in which the ways of
// naming one repository compare equal: "host/owner/repo" with the host in
// lower case, without scheme, credentials, default port, query, trailing
// ".git" or "/". An scp-like "git@host:owner/repo.git" becomes
// "host/owner/repo". A file:// URL or an absolute path becomes the cleaned
// absolute path, ".git" kept (it names another folder). "" stays "".
func NormalizeRepoURL(u string) string {
	s := strings.TrimSpace(u)
	switch {
	case s == "":
		return ""
	case len(s) >= 7 && strings.EqualFold(s[:7], "file://"):
		return filePath(s)
	case strings.HasPrefix(s, "/"):
		return path.Clean(s)
	case strings.Contains(s, "://"):
		return normalizeURL(s)
	}
	colon, slash := strings.IndexByte(s, ':'), strings.IndexByte(s, '/')
	if colon > 0 && (slash < 0 || colon < slash) {
		// scp-like: [user@]host:path
		return lowerHost(s[:colon]) + repoPath(s[colon+1:])
	}
	if slash < 0 {
		return lowerHost(s)
	}
	// host/owner/repo, already without a scheme
	return lowerHost(s[:slash]) + repoPath(s[slash:])
}

// normalizeURL handles scheme://[user@]host[:port]/path.
func normalizeURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		// Not a URL Go can read: drop the scheme and try again.
		return NormalizeRepoURL(s[strings.Index(s, "://")+3:])
	}
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && port != defaultPorts[strings.ToLower(u.Scheme)] {
		host = net.JoinHostPort(strings.ToLower(u.Hostname()), port)
	}
	return host + repoPath(u.Path)
}

// lowerHost drops credentials from "[user[:password]@]host" and lowers
// the host's case.
func lowerHost(s string) string {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[at+1:]
	}
	return strings.ToLower(s)
}

// repoPath cleans a repository's path: "/owner/repo", without a trailing
// ".git" or "/", or "" when there is none.
func repoPath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	p = path.Clean("/" + p)
	p = strings.TrimSuffix(p, ".git")
	return strings.TrimRight(p, "/")
}

// filePath turns a file:// URL into a cleaned absolute path.
func filePath(s string) string {
	rest := s[len("file://"):]
	p := rest
	if u, err := url.Parse(s); err == nil {
		p = u.Path
		if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
			p = "/" + u.Host + p // file://srv/git/x: a path, not a host
		}
	}
	return path.Clean("/" + p)
}

// MatchesRepo reports whether the payload names the repository configured
// for the app, under any of its URLs (see NormalizeRepoURL). Forges treat
// owner and repository names without regard to case, so remote URLs
// compare that way too; local paths compare exactly.
func (e *Event) MatchesRepo(configured string) bool {
	want := NormalizeRepoURL(configured)
	if e == nil || want == "" {
		return false
	}
	local := strings.HasPrefix(want, "/")
	for _, u := range e.RepoURLs {
		got := NormalizeRepoURL(u)
		if got == "" {
			continue
		}
		if local && got == want || !local && strings.EqualFold(got, want) {
			return true
		}
	}
	return false
}
