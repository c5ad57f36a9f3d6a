package wire

import (
	"math"
	"strconv"
	"time"
)

// TrafficHistory answers GET /api/v1/apps/{app}/metrics?since=1h&step=10s:
// an app's traffic, one point per step (columns, as charts take them), in
// all and by release, with what its rollouts did in the window marked on
// the same time axis.
type TrafficHistory struct {
	App      string           `json:"app"`
	Since    time.Time        `json:"since"`
	Until    time.Time        `json:"until"`
	Step     string           `json:"step"` // e.g. "10s"
	Times    []int64          `json:"t"`    // the start of each step, unix seconds
	Total    TrafficPoints    `json:"total"`
	Releases []ReleaseTraffic `json:"releases"` // newest release first
	Marks    []RolloutMark    `json:"marks"`
}

// TrafficPoints are one series' measurements, one per step; a step with
// no request has null rates and latencies.
type TrafficPoints struct {
	Requests  []int64  `json:"requests"`
	RPS       []Number `json:"rps"`
	ErrorRate []Number `json:"error_rate"` // (5xx + connection errors) / requests, 0..1
	P50       []Number `json:"p50_ms"`
	P99       []Number `json:"p99_ms"`
}

// ReleaseTraffic is the traffic one release served.
type ReleaseTraffic struct {
	Release int `json:"release"`
	TrafficPoints
}

// RolloutMark is a moment of a rollout in the window: its start and end
// (kind "state": the state it reached), a step (weights, promotions), a
// canary analysis verdict or a bake, with the numbers it judged in Data.
type RolloutMark struct {
	Time    time.Time      `json:"time"`
	Rollout int64          `json:"rollout"`
	Kind    string         `json:"kind"`
	Text    string         `json:"text"`
	Data    map[string]any `json:"data,omitempty"`
}

// Number is a float that is null in JSON when it is not a number (NaN,
// ±Inf), and written with at most 6 significant digits.
type Number float64

func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 6, 64), nil
}

func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = Number(f)
	return err
}
