// Package hotpath benchmarks one proxied request through nonstop's proxy,
// in process, next to what net/http alone costs, so that allocations per
// request (allocs/op) and CPU profiles show what the proxy adds:
//
//	go test ./bench/hotpath -run '^$' -bench . -benchmem
//	go test ./bench/hotpath -run '^$' -bench 'Server/nonstop$' -cpuprofile cpu.out
//	go tool pprof -top hotpath.test cpu.out   # go test leaves hotpath.test here
//
// The backend and, in the Server benchmarks, the client are raw loopback
// sockets that allocate nothing per request, so allocs/op counts the
// proxy's side only.
package hotpath
