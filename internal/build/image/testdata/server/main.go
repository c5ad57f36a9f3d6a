// Command server is the test app the image tests build into a FROM scratch
// image: a static HTTP server on $PORT (default 8080) that answers with the
// content of /app/version.txt, and 200 on /healthz.
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	version, _ := os.ReadFile("/app/version.txt")
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write(version)
	})
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
