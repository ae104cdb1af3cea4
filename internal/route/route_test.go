package route

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/event"
)

func on(b bool) *bool { return &b }

func TestResolve(t *testing.T) {
	table := Table{
		{Domain: "*", Endpoints: map[event.Family]Endpoint{
			event.FamilyStream: {URL: "http://default/stream"}, event.FamilyRecord: {URL: "http://default/record"}}},
		{Domain: "push.example.com", Endpoints: map[event.Family]Endpoint{
			event.FamilyStream:   {URL: "http://example/stream", Enabled: on(true)},
			event.FamilyRecord:   {URL: "http://example/record"},
			event.FamilySnapshot: {URL: "http://example/snapshot", Enabled: on(false)}}},
	}
	tests := []struct {
		domain string
		family event.Family
		url    string
		err    string
	}{
		{"push.example.com", event.FamilyStream, "http://example/stream", ""},
		{"push.example.com", event.FamilyRecord, "http://example/record", ""},
		{"push.example.com", event.FamilySnapshot, "", "snapshot callbacks are switched off for push.example.com in the config file"},
		{"push.example.com", event.FamilyQuality, "", "no callback URL configured for quality callbacks of domain \"push.example.com\""},
		{"other.example.com", event.FamilyStream, "http://default/stream", ""},
		{"other.example.com", event.FamilySnapshot, "", "no callback URL configured for snapshot callbacks"},
	}
	for _, tt := range tests {
		url, err := table.Resolve(tt.domain, tt.family)
		if url != tt.url || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("Resolve(%s, %s) = %q, %v; want %q, %q", tt.domain, tt.family, url, err, tt.url, tt.err)
		}
	}
	var skipped *SkippedError
	if _, err := table.Resolve("push.example.com", event.FamilySnapshot); !errors.As(err, &skipped) {
		t.Errorf("a switched-off family is not a *SkippedError: %v", err)
	}
	if _, err := (Table{}).Resolve("x", event.FamilyStream); !errors.Is(err, ErrNoRoute) {
		t.Errorf("empty table: %v", err)
	}
}

func TestCheck(t *testing.T) {
	bad := Table{{Domain: ""},
		{Domain: "d", Endpoints: map[event.Family]Endpoint{event.FamilyRecord: {URL: "ftp://x/y"}}},
		{Domain: "e", Endpoints: map[event.Family]Endpoint{event.FamilyStream: {URL: "localhost:3000/cb"}}}}
	err := bad.Check()
	for _, want := range []string{`routes[0]: domain is empty`, `routes[1].record.url "ftp://x/y" is not an absolute http(s) URL`, `routes[2].stream.url "localhost:3000/cb"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v, want it to contain %q", err, want)
		}
	}
	if err := (Table{{Domain: "*", Endpoints: map[event.Family]Endpoint{event.FamilyStream: {URL: "https://h/cb"}}}}).Check(); err != nil {
		t.Errorf("valid table: %v", err)
	}
}

func TestDecode(t *testing.T) {
	raw := []any{
		map[string]any{"domain": "*", "stream": map[string]any{"url": "http://h/s", "enabled": true}, "Quality": map[string]any{"url": "http://h/q", "enabled": "false"}},
		map[string]any{"domain": "push.example.com", "record": map[string]any{"url": "http://h/r"}, "snapshot": nil},
	}
	table, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != 2 || table[0].Domain != "*" || table[1].Domain != "push.example.com" {
		t.Fatalf("table %+v", table)
	}
	if u, err := table.Resolve("x", event.FamilyStream); u != "http://h/s" || err != nil {
		t.Errorf("stream: %q %v", u, err)
	}
	var skipped *SkippedError
	if _, err := table.Resolve("x", event.FamilyQuality); !errors.As(err, &skipped) {
		t.Errorf("quality is switched off (\"false\" read as false): %v", err)
	}
	if u, _ := table.Resolve("push.example.com", event.FamilyRecord); u != "http://h/r" {
		t.Errorf("record: %q", u)
	}
	b, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"domain":"*","stream":{"url":"http://h/s","enabled":true},"record":{},"snapshot":{},"quality":{"url":"http://h/q","enabled":false}},` +
		`{"domain":"push.example.com","stream":{},"record":{"url":"http://h/r"},"snapshot":{},"quality":{}}]`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	if table, err := Decode(nil); table != nil || err != nil {
		t.Errorf("no routes: %v %v", table, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  any
		want string
	}{
		{"misspelt family", []any{map[string]any{"domain": "*", "strem": map[string]any{"url": "http://h/s"}}},
			`[0]: unknown key "strem" (did you mean stream?); a route holds domain, stream, record, snapshot, quality`},
		{"misspelt switch", []any{map[string]any{"domain": "*", "record": map[string]any{"url": "http://h/r", "enabeld": false}}},
			`[0].record: unknown key "enabeld" (did you mean enabled?); a family's entry holds url, enabled`},
		{"misspelt domain", []any{map[string]any{"domian": "*"}},
			`[0]: unknown key "domian" (did you mean domain?)`},
		{"nothing like it", []any{map[string]any{"domain": "*", "x": 1}},
			`[0]: unknown key "x"; a route holds`},
		{"not a list", map[string]any{}, `routes is a map; write a list of domains`},
		{"not a map", []any{1, []any{2}}, `[0] is the int 1; each route is a map: domain: NAME, then one entry per family (stream, record, snapshot, quality); [1] is a list;`},
		{"bad switch", []any{map[string]any{"domain": "a", "stream": map[string]any{"url": "ftp://x", "enabled": "maybe"}}},
			`[0].stream: 'enabled' cannot parse value as 'bool'`},
		{"endpoint not a map", []any{map[string]any{"domain": "a", "stream": "http://h/s"}},
			`[0].stream is the string "http://h/s"; write {url: http://..., enabled: true}`},
		{"domain not a string", []any{map[string]any{"domain": []any{}}}, `[0].domain is a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			table, err := Decode(tt.raw)
			if err == nil || !strings.Contains(err.Error(), tt.want) || table != nil {
				t.Errorf("Decode = %v, %v; want an error containing %q", table, err, tt.want)
			}
		})
	}
}

// A family added to the event model's table is a key of a route, and
// Check knows it; a family that is not in the table is refused.
func TestRegisteredFamilyIsAKey(t *testing.T) {
	raw := []any{map[string]any{"domain": "*", "moderation": map[string]any{"url": "http://h/m"}}}
	if _, err := Decode(raw); err == nil || !strings.Contains(err.Error(), `unknown key "moderation"`) {
		t.Fatalf("before registering: %v", err)
	}
	defer event.RegisterFamily(event.FamilyInfo{Family: "moderation", Path: "/moderation", Description: "moderation verdicts"})()
	table, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := table.Resolve("push.example.com", "moderation"); u != "http://h/m" || err != nil || table.Check() != nil {
		t.Errorf("Resolve = %q, %v; Check = %v", u, err, table.Check())
	}
	bad := Table{{Domain: "*", Endpoints: map[event.Family]Endpoint{"moderatoin": {URL: "http://h/m"}}}}
	if err := bad.Check(); err == nil || !strings.Contains(err.Error(), `"moderatoin" is not a family (did you mean moderation?)`) {
		t.Errorf("Check = %v", err)
	}
}
