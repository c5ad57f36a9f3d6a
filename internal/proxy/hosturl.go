package proxy

import "strings"

// HostURL is the URL at which host is reached through the proxy listening
// at listenURL (e.g. http://0.0.0.0:8080): the listener's scheme and port,
// the port left out when it is the scheme's default.
func HostURL(listenURL, host string) string {
	scheme, port := "http", ""
	if listenURL != "" {
		rest := listenURL
		if s, r, ok := strings.Cut(listenURL, "://"); ok {
			scheme, rest = s, r
		}
		if i := strings.LastIndex(rest, ":"); i >= 0 {
			port = rest[i:]
		}
	}
	if scheme == "http" && port == ":80" || scheme == "https" && port == ":443" {
		port = ""
	}
	return scheme + "://" + host + port + "/"
}
