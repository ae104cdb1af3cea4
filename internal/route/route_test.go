package route

import (
	"errors"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/event"
)

func on(b bool) *bool { return &b }

func TestResolve(t *testing.T) {
	table := Table{
		{Domain: "*", Stream: Endpoint{URL: "http://default/stream"}, Record: Endpoint{URL: "http://default/record"}},
		{Domain: "push.example.com",
			Stream:   Endpoint{URL: "http://example/stream", Enabled: on(true)},
			Record:   Endpoint{URL: "http://example/record"},
			Snapshot: Endpoint{URL: "http://example/snapshot", Enabled: on(false)}},
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
	bad := Table{{Domain: ""}, {Domain: "d", Record: Endpoint{URL: "ftp://x/y"}}, {Domain: "e", Stream: Endpoint{URL: "localhost:3000/cb"}}}
	err := bad.Check()
	for _, want := range []string{`routes[0]: domain is empty`, `routes[1].record.url "ftp://x/y" is not an absolute http(s) URL`, `routes[2].stream.url "localhost:3000/cb"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Check() = %v, want it to contain %q", err, want)
		}
	}
	if err := (Table{{Domain: "*", Stream: Endpoint{URL: "https://h/cb"}}}).Check(); err != nil {
		t.Errorf("valid table: %v", err)
	}
}
