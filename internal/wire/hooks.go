package wire

// WebhookInfo is what `nonstop apps webhook` prints: the app's webhook URL
// for each forge, and the secret they are checked with.
type WebhookInfo struct {
	URLs   map[string]string `json:"urls"`
	Secret string            `json:"secret"`
}

// HookResult answers a forge's webhook: what was done with it, and the
// number of the run it queued, if any.
type HookResult struct {
	Result string `json:"result"`
	Run    int    `json:"run,omitempty"`
}
