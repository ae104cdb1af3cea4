package event_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/event/eventtest"
)

// A kind registered by a test flows into everything derived from the
// table, and is gone again when the test ends.
func TestRegisteredKindFlowsEverywhere(t *testing.T) {
	k := eventtest.Kind
	t.Run("registered", func(t *testing.T) {
		eventtest.Register(t)

		if names := event.KindNames(); names[len(names)-1] != string(k) {
			t.Errorf("KindNames %v: want %s last (its family is last)", names, k)
		}
		if info, ok := event.Info(k); !ok || info.Family != eventtest.Family || len(info.Versions) != 1 || info.Versions[0] != "v1.1" {
			t.Errorf("Info = %+v, %v", info, ok)
		}
		if got, err := event.ParseKind("Moderation-Done"); got != k || err != nil {
			t.Errorf("ParseKind = %q, %v", got, err)
		}
		if got, err := event.ParseKind("moderation"); got != k || err != nil {
			t.Errorf("ParseKind(alias) = %q, %v", got, err)
		}
		if !slices.Contains(event.Families, eventtest.Family) || event.FamilyPaths()[eventtest.Family] != "/moderation" {
			t.Errorf("families %v, paths %v", event.Families, event.FamilyPaths())
		}
		if got := event.KindsOf(eventtest.Family); !slices.Equal(got, []event.Kind{k}) {
			t.Errorf("KindsOf = %v", got)
		}

		// Classification and validation.
		fx := event.Fixture(k)
		ev, fs := event.Check(fx, event.Options{Strict: true})
		if ev == nil || ev.Kind != k || len(fs) != 0 {
			t.Fatalf("fixture: %v %v", ev, fs)
		}
		if kf := ev.KeyFields(); len(kf) != 2 || kf[0] != (event.KeyField{Name: "verdict", Value: "pass"}) {
			t.Errorf("key fields %v", kf)
		}
		for _, tt := range []struct{ edit, value, want string }{
			{"endTime", "1553741853000", "error /endTime time_order"},
			{"verdict", `"maybe"`, "error /verdict value_not_allowed"},
			{"score", "0.5", "warning /score type_drift"},
			{"status", `"fail"`, "warning /status unexpected_status"},
		} {
			body, _ := event.Set(fx, tt.edit, json.RawMessage(tt.value))
			_, fs := event.Check(body, event.Options{})
			if len(fs) != 1 || fmt.Sprintf("%s %s %s", fs[0].Severity, fs[0].Path, fs[0].Code) != tt.want {
				t.Errorf("%s=%s: %v, want %s", tt.edit, tt.value, fs, tt.want)
			}
		}
		_, err := event.Classify(map[string]any{"event": "nope"})
		if err == nil || !strings.Contains(err.Error(), "expected publish_started, publish_done, record_done or moderation_done") {
			t.Errorf("unknown event: %v", err)
		}

		// Samples and the stream's life.
		s := event.NewStream(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), rand.New(rand.NewPCG(7, 7)))
		body, err := event.Sample(k, s)
		if err != nil {
			t.Fatal(err)
		}
		ev, fs = event.Check(body, event.Options{Strict: true})
		if ev == nil || ev.Kind != k || len(fs) != 0 || ev.Identity().Stream != s.Name || ev.Number("endTime") != strconv.FormatInt(s.End.UnixMilli(), 10) {
			t.Errorf("sample %s: %v %v", body, ev, fs)
		}
		if at := event.SentAt(k, s); !at.Equal(s.End.Add(eventtest.Delay)) {
			t.Errorf("SentAt %s, stream ends %s", at, s.End)
		}
		order := event.StreamOrder()
		if order[len(order)-1] != k {
			t.Errorf("stream order %v: want %s last (after, last family)", order, k)
		}
		if after := event.InPhase(event.PhaseAfter); !slices.Equal(after, []event.Kind{event.RecordDone, event.TaskRecordDone, k}) {
			t.Errorf("InPhase(after) = %v", after)
		}

		// Schemas.
		if s := event.Schema(k); s == nil || s["$id"] != event.SchemaBase+string(k)+".json" {
			t.Errorf("schema %v", s)
		}
		doc := string(event.SchemaDocumentJSON())
		if !strings.Contains(doc, `"moderation_done": {`) || !strings.Contains(doc, `"$ref": "https://livecb.dev/schema/v1.1/moderation_done.json"`) {
			t.Errorf("schema document lacks the kind")
		}
	})

	// Gone again.
	if _, ok := event.Info(k); ok || slices.Contains(event.Families, eventtest.Family) || slices.Contains(event.StreamOrder(), k) {
		t.Errorf("still registered after the test")
	}
	if ev, _ := event.Check([]byte(eventtest.Fixture), event.Options{}); ev == nil || ev.Kind != "" {
		t.Errorf("the fixture still classifies: %v", ev)
	}
}

// Register refuses entries that would make the table inconsistent, and
// says what is wrong.
func TestRegisterRefusesInconsistentEntries(t *testing.T) {
	tests := []struct {
		name string
		edit func(*event.KindInfo)
		want string
	}{
		{"unknown family", func(k *event.KindInfo) { k.Family = "nope" }, `family "nope" is not in the family table`},
		{"taken name", func(k *event.KindInfo) { k.Kind = event.RecordDone }, `kind "record_done" is in the table twice`},
		{"no fixture", func(k *event.KindInfo) { k.Fixture = nil }, `has no fixture: add fixtures/moderation_done.json`},
		{"shared event", func(k *event.KindInfo) { k.Event = "record_done" }, `both have event "record_done" and no markers`},
		{"nothing to recognise it by", func(k *event.KindInfo) {
			k.Event = ""
			k.Fields = slices.DeleteFunc(slices.Clone(k.Fields), func(f event.Field) bool { return f.Name == "event" })
		}, `has neither an Event value nor Markers`},
		{"shared marker", func(k *event.KindInfo) {
			k.Event = ""
			k.Fields = append(slices.DeleteFunc(slices.Clone(k.Fields), func(f event.Field) bool { return f.Name == "event" }),
				event.Field{Name: "module", Type: event.TString})
			k.Markers = []string{"module"}
		}, `share the marker "module"`},
		{"bad key field", func(k *event.KindInfo) { k.KeyFields = []string{"nope"} }, `key field "nope" is not one of its fields`},
		{"too many key fields", func(k *event.KindInfo) {
			for len(k.KeyFields) <= event.MaxKeyFields {
				k.KeyFields = append(k.KeyFields, k.Fields[0].Name)
			}
		}, `key fields: at most MaxKeyFields`},
		{"bad interval", func(k *event.KindInfo) { k.Intervals = []event.Interval{{Begin: "verdict", End: "endTime"}} }, `"verdict" is not a millisecond time field`},
		{"no life", func(k *event.KindInfo) { k.Life.At = nil }, `Life.At is nil`},
		{"taken alias", func(k *event.KindInfo) { k.Aliases = []string{"record"} }, `share the alias "record"`},
	}
	defer event.RegisterFamily(eventtest.FamilyInfo())()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := eventtest.KindInfo()
			tt.edit(&info)
			defer func() {
				r := recover()
				if msg, _ := r.(error); msg == nil || !strings.Contains(msg.Error(), tt.want) {
					t.Errorf("Register panicked with %v, want %q", r, tt.want)
				}
				if _, ok := event.Info(info.Kind); ok && info.Kind != event.RecordDone {
					t.Errorf("a refused kind is in the table")
				}
			}()
			event.Register(info)
		})
	}
}
