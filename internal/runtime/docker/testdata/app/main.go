// Command app is the docker runtime tests' container app: a static HTTP
// server for a FROM scratch image.
//
// It listens on $PORT (default 8080) and answers:
//
//	/         "hello port=$PORT greeting=$GREETING"
//	/healthz  "ok"
//	/say?m=M  writes M to stdout (with &stderr=1, to stderr)
//	/spin?d=D burns CPU for the duration D
//	/crash    exits with status 2, as a crash would
//	/dial?addr=A         "connected" when a TCP connection to A opens within 1s, else the error
//	/env?k=K  the value of $K
//	/file?path=P         the content of file P (404 when it is missing)
//	/file?path=P&write=W writes W to file P
//
// With CRASH_AT_START set it writes a message to stderr and exits 3 before
// listening. On SIGTERM it logs it, finishes the requests in flight and
// exits 0; with IGNORE_SIGTERM set it logs it and carries on.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if msg := os.Getenv("CRASH_AT_START"); msg != "" {
		fmt.Fprintf(os.Stderr, "fatal: crashing at start: %s\n", msg)
		os.Exit(3)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello port=%s greeting=%s\n", port, os.Getenv("GREETING"))
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/say", func(w http.ResponseWriter, r *http.Request) {
		out := os.Stdout
		if r.URL.Query().Get("stderr") != "" {
			out = os.Stderr
		}
		fmt.Fprintln(out, r.URL.Query().Get("m"))
	})
	mux.HandleFunc("/spin", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end); {
			n++
		}
		fmt.Fprintln(w, n)
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(r.URL.Query().Get("k")))
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Has("write") {
			if err := os.WriteFile(q.Get("path"), []byte(q.Get("write")), 0o644); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
			return
		}
		b, err := os.ReadFile(q.Get("path"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Write(b)
	})
	mux.HandleFunc("/dial", func(w http.ResponseWriter, r *http.Request) {
		c, err := net.DialTimeout("tcp", r.URL.Query().Get("addr"), time.Second)
		if err != nil {
			fmt.Fprintln(w, err)
			return
		}
		c.Close()
		fmt.Fprintln(w, "connected")
	})
	mux.HandleFunc("/crash", func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("crashing as asked")
		os.Exit(2)
	})
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	go func() {
		s := <-sig
		for os.Getenv("IGNORE_SIGTERM") != "" {
			fmt.Printf("got %v, ignoring it\n", s)
			s = <-sig
		}
		fmt.Printf("got %v, shutting down\n", s)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		close(done)
	}()

	fmt.Printf("listening on :%s\n", port)
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-done
	fmt.Println("bye")
}
