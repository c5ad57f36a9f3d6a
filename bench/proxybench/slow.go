package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// slowResult counts the slow requests of a switch run.
type slowResult struct {
	Total  int64
	Failed int64 // answered, but not 200 with the backend's whole body
	Cut    int64 // no (whole) answer: reset, closed, timed out
}

func (s slowResult) bad() int64 { return s.Failed + s.Cut }

// runSlow keeps `workers` slow requests in flight against addr, each
// taking `slow` at the backend, until ctx ends; then it waits for those
// in flight and returns the counts. The requests are POSTs, which no
// proxy may retry once sent: only draining saves them when their backend
// stops. Each uses a new connection, so that the client itself retries
// nothing either.
func runSlow(ctx context.Context, addr string, workers int, slow time.Duration) slowResult {
	client := &http.Client{
		Timeout:   slow + 15*time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	url := fmt.Sprintf("http://%s/slow?ms=%d", addr, slow.Milliseconds())
	var total, failed, cut atomic.Int64
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			// Stagger the workers, so that some request is always in flight.
			select {
			case <-ctx.Done():
				return
			case <-time.After(slow * time.Duration(i) / time.Duration(workers)):
			}
			for ctx.Err() == nil {
				total.Add(1)
				switch slowRequest(client, url) {
				case slowFailed:
					failed.Add(1)
				case slowCut:
					cut.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return slowResult{Total: total.Load(), Failed: failed.Load(), Cut: cut.Load()}
}

type slowOutcome int

const (
	slowOK slowOutcome = iota
	slowFailed
	slowCut
)

// slowRequest sends one slow request. It does not take the run's context:
// a request started before the end is carried to its end.
func slowRequest(client *http.Client, url string) slowOutcome {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("payload"))
	req.Host = benchHost
	resp, err := client.Do(req)
	if err != nil {
		return slowCut
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return slowCut
	case resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), "slow request done by "):
		return slowFailed
	}
	return slowOK
}
