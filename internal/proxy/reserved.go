package proxy

import "net"

// reservedAddr returns the one of reserved that backend addr reaches, or
// "". A listener on all interfaces (":8080", "0.0.0.0:8080") or on
// loopback is reached by any of this machine's addresses at its port.
func reservedAddr(addr string, reserved []string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	for _, r := range reserved {
		rhost, rport, err := net.SplitHostPort(r)
		if err != nil || rport != port {
			continue
		}
		if host == rhost || local(host) && (rhost == "" || local(rhost)) {
			return r
		}
	}
	return ""
}

// local says whether host names this machine: loopback, unspecified,
// localhost, or one of its interfaces' addresses.
func local(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
