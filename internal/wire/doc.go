// Package wire is the JSON the HTTP API speaks: the bodies of its requests
// and answers, shared by the API, the Go client and the dashboard. It is the
// API's contract, apart from the store's rows, so that either may change
// without the other; it imports only the standard library.
package wire
