package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/nonstopdev/nonstop/internal/pipeline"
	"github.com/nonstopdev/nonstop/internal/proxy"
	"github.com/nonstopdev/nonstop/internal/runtime"
	"github.com/nonstopdev/nonstop/internal/store"
	"github.com/nonstopdev/nonstop/internal/wire"
)

// The API's answers were, before package wire, the store's rows and these
// views of them (appView, AppStatus and InstanceState with their JSON tags),
// marshalled as they are: that JSON is the contract the wire types must
// keep, byte for byte.
type (
	legacyAppView struct {
		*store.App
		URLs []string `json:"urls"`
	}
	legacyAppStatus struct {
		legacyAppView
		Live      *store.Release        `json:"live,omitempty"`
		Rollout   *store.Rollout        `json:"rollout,omitempty"`
		Waiting   string                `json:"waiting,omitempty"`
		Instances []legacyInstanceState `json:"instances"`
		Problems  []string              `json:"problems,omitempty"` // added with the engine's problems
		Actions   []string              `json:"actions"`            // added with the dashboard's buttons
	}
	legacyInstanceState struct {
		*store.Instance
		Runtime *runtime.Status      `json:"runtime,omitempty"`
		Proxy   *proxy.BackendStatus `json:"proxy,omitempty"`
		Node    string               `json:"node,omitempty"`
		Problem string               `json:"problem,omitempty"`
	}
	legacyHoldResult struct {
		Result string      `json:"result"`
		Hold   *store.Hold `json:"hold"`
	}
	legacyEnvVar struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	legacyWebhookInfo struct {
		URLs   map[string]string `json:"urls"`
		Secret string            `json:"secret"`
	}
)

// ...and these were the request bodies the handlers took (strictly: an
// unknown field is refused).
type (
	legacyCreateAppRequest struct {
		Name    string   `json:"name"`
		Domains []string `json:"domains"`
	}
	legacySetAppRequest struct {
		Repo    *string   `json:"repo"`
		Branch  *string   `json:"branch"`
		Poll    *string   `json:"poll"`
		Domains *[]string `json:"domains"`
	}
	legacyDeployJSONRequest struct {
		Image string `json:"image"`
		Spec  string `json:"spec,omitempty"`
		Git   *struct {
			URL string `json:"url"`
			Ref string `json:"ref"`
		} `json:"git,omitempty"`
	}
	legacyRollbackRequest struct {
		To string `json:"to"`
	}
	legacyScaleRequest struct {
		Instances int `json:"instances"`
	}
	legacyEnvRequest struct {
		Set   map[string]string `json:"set"`
		Unset []string          `json:"unset"`
	}
	legacyHoldRequest struct {
		MaxWait  string `json:"max_wait"`
		MaxQueue int    `json:"max_queue"`
	}
	legacyPromoteRequest struct {
		Full bool `json:"full"`
	}
)

// filled returns a T with every exported field, at every depth, set to a
// value that is not its zero (strings with characters JSON escapes).
func filled[T any]() T {
	var v T
	n := 0
	fill(reflect.ValueOf(&v).Elem(), &n)
	return v
}

func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d <&> \"é\"", *n))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(*n) + 0.25)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), n)
		fill(v.Index(1), n)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for range 2 {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, n)
			fill(e, n)
			v.SetMapIndex(k, e)
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf(fmt.Sprintf("any%d", *n)))
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2025, 1, 2, 3, 4, 5, *n, time.FixedZone("X", 3600))))
			return
		}
		for i := range v.NumField() {
			// An embedded struct of an unexported type has exported fields.
			if f := v.Type().Field(i); f.IsExported() || f.Anonymous && f.Type.Kind() == reflect.Struct {
				fill(v.Field(i), n)
			}
		}
	default:
		panic("fill: no value for a " + v.Type().String())
	}
}

// encodings are the ways the API writes a body: writeJSON's indented
// answers, and json.Marshal's lines of the event stream.
func encodings(t *testing.T, v any) (indented, compact []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	writeJSON(rec, 200, v)
	compact, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	return rec.Body.Bytes(), compact
}

func sameJSON(t *testing.T, name string, old, new any) {
	t.Helper()
	oldIndented, oldCompact := encodings(t, old)
	newIndented, newCompact := encodings(t, new)
	if !bytes.Equal(oldIndented, newIndented) || !bytes.Equal(oldCompact, newCompact) {
		t.Errorf("%s: the wire type's JSON is not the row's\n old %s\n new %s", name, oldCompact, newCompact)
	}
}

// legacyInstance and legacyStatus are the API's views as they were encoded.
func legacyInstance(s InstanceState) legacyInstanceState { return legacyInstanceState(s) }

func legacyStatus(st AppStatus) legacyAppStatus {
	return legacyAppStatus{
		legacyAppView: legacyAppView(st.appView),
		Live:          st.Live,
		Rollout:       st.Rollout,
		Waiting:       st.Waiting,
		Instances:     each(st.Instances, legacyInstance),
		Problems:      st.Problems,
		Actions:       st.Actions,
	}
}

func TestWire_AnswersAreTheJSONTheStoreRowsWere(t *testing.T) {
	// Every field set, then every field zero (omitempty, null and [] alike).
	for _, full := range []bool{true, false} {
		pick := func(a, zero any) any {
			if full {
				return a
			}
			return zero
		}
		ro := pick(filled[store.Rollout](), store.Rollout{}).(store.Rollout)
		rel := pick(filled[store.Release](), store.Release{}).(store.Release)
		ev := pick(filled[store.Event](), store.Event{}).(store.Event)
		run := pick(filled[store.Run](), store.Run{}).(store.Run)
		view := pick(filled[pipeline.RunView](), pipeline.RunView{Run: &store.Run{}}).(pipeline.RunView)
		in := pick(filled[InstanceState](), InstanceState{Instance: &store.Instance{}}).(InstanceState)
		av := pick(filled[appView](), appView{App: &store.App{}}).(appView)
		st := pick(filled[AppStatus](), AppStatus{appView: appView{App: &store.App{}}}).(AppStatus)
		hold := pick(filled[legacyHoldResult](), legacyHoldResult{}).(legacyHoldResult)
		env := pick(filled[legacyEnvVar](), legacyEnvVar{}).(legacyEnvVar)
		hook := pick(filled[legacyWebhookInfo](), legacyWebhookInfo{}).(legacyWebhookInfo)
		s := pick(filled[string](), "").(string)
		n := pick(7, 0).(int)

		for _, c := range []struct {
			name     string
			old, new any
		}{
			{"app view", legacyAppView(av), wireAppView(av)},
			{"app status", legacyStatus(st), wireAppStatus(st)},
			{"apps", []legacyAppView{legacyAppView(av)}, each([]appView{av}, wireAppView)},
			{"rollout", &ro, wireRollout(&ro)},
			{"rollouts", []*store.Rollout{&ro, &ro}, each([]*store.Rollout{&ro, &ro}, wireRollout)},
			{"no rollouts", []*store.Rollout{}, each([]*store.Rollout{}, wireRollout)},
			{"release", &rel, wireRelease(&rel)},
			{"releases", []*store.Release{&rel}, each([]*store.Release{&rel}, wireRelease)},
			{"event", ev, wireEvent(ev)},
			{"run", &run, wireRun(&run)},
			{"run view", &view, wireRunView(&view)},
			{"run views", []*pipeline.RunView{&view}, []*wire.RunView{wireRunView(&view)}},
			{"instance", legacyInstance(in), wireInstanceState(in)},
			{"instances", []legacyInstanceState{legacyInstance(in)}, each([]InstanceState{in}, wireInstanceState)},
			{"hold result", hold, wire.HoldResult{Result: hold.Result, Hold: wireHold(hold.Hold)}},
			{"env", []legacyEnvVar{env}, []wire.EnvVar{{Name: env.Name, Value: env.Value}}},
			{"webhook info", hook, wire.WebhookInfo{URLs: hook.URLs, Secret: hook.Secret}},
			{"result", map[string]string{"result": s}, wire.Result{Result: s}},
			{"deleted", map[string]string{"deleted": s}, wire.Deleted{Deleted: s}},
			{"error", map[string]string{"error": s}, wire.Error{Message: s}},
			{"health", map[string]string{"status": "ok", "version": s}, wire.Health{Status: "ok", Version: s}},
			{"whoami", map[string]any{"name": s, "role": store.Role(s)}, wire.Whoami{Name: s, Role: s}},
			{"queued run", map[string]any{"run": n + 1, "state": run.State}, wire.QueuedRun{Run: n + 1, State: wire.RunState(run.State)}},
			{"hook result", map[string]any{"result": s}, wire.HookResult{Result: s}},
			{"hook result with a run", map[string]any{"result": s, "run": n + 1}, wire.HookResult{Result: s, Run: n + 1}},
		} {
			sameJSON(t, fmt.Sprintf("%s (every field set: %v)", c.name, full), c.old, c.new)
		}
	}
}

// TestWire_RequestBodiesAreTheOnesTheHandlersTook: every body the handlers
// took decodes, strictly, into its wire type, which says it again the same.
func TestWire_RequestBodiesAreTheOnesTheHandlersTook(t *testing.T) {
	for _, c := range []struct {
		old, new any
	}{
		{filled[legacyCreateAppRequest](), &wire.CreateAppRequest{}},
		{filled[legacySetAppRequest](), &wire.AppSettings{}},
		{filled[legacyDeployJSONRequest](), &wire.DeployRequest{}},
		{filled[legacyRollbackRequest](), &wire.RollbackRequest{}},
		{filled[legacyScaleRequest](), &wire.ScaleRequest{}},
		{filled[legacyEnvRequest](), &wire.EnvRequest{}},
		{filled[legacyHoldRequest](), &wire.HoldRequest{}},
		{filled[legacyPromoteRequest](), &wire.SignalRequest{}},
	} {
		body, err := json.Marshal(c.old)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(c.new); err != nil {
			t.Errorf("%T does not take %s: %v", c.new, body, err)
			continue
		}
		again, _ := json.Marshal(c.new)
		if !bytes.Equal(body, again) {
			t.Errorf("%T: %s became %s", c.new, body, again)
		}
	}
}
