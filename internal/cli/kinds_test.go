package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/livecb/livecb/internal/contract"
	"github.com/livecb/livecb/internal/event"
	"github.com/livecb/livecb/internal/event/eventtest"
)

// A kind (and a family) registered by a test reaches every command with no
// edit outside its table entry: events, schema, validate, send (alone and
// in a lifecycle), the contract suite, demo.
func TestRegisteredKindReachesEveryCommand(t *testing.T) {
	eventtest.Register(t)
	k := string(eventtest.Kind)

	res := runSend(t, "", false, "events")
	if res.code != 0 || !regexp.MustCompile(`(?m)^moderation_done +moderation +a moderation verdict about a stream is ready \(test-only kind\)$`).MatchString(res.out) {
		t.Errorf("events: exit %d\n%s", res.code, res.out)
	}
	res = runSend(t, "", false, "events", "show", "moderation-done")
	if res.code != 0 || !regexp.MustCompile(`(?m)^score +decimal string +yes +confidence$`).MatchString(res.out) || !strings.Contains(res.out, `"verdict": "pass"`) {
		t.Errorf("events show: exit %d\n%s", res.code, res.out)
	}

	res = runSend(t, "", false, "schema")
	var doc struct {
		Defs  map[string]map[string]any `json:"$defs"`
		AnyOf []map[string]string       `json:"anyOf"`
	}
	if err := json.Unmarshal([]byte(res.out), &doc); err != nil || doc.Defs[k] == nil || doc.AnyOf[len(doc.AnyOf)-1]["$ref"] != event.SchemaBase+k+".json" {
		t.Errorf("schema: %v\n%.300s", err, res.out)
	}
	if res = runSend(t, "", false, "schema", k); res.code != 0 || !strings.Contains(res.out, `"pattern": "^\\s*moderation_done\\s*$"`) {
		t.Errorf("schema %s: exit %d\n%s", k, res.code, res.out)
	}

	// validate classifies it and applies its rules.
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(eventtest.Fixture), 0o644)
	os.WriteFile(bad, []byte(strings.Replace(eventtest.Fixture, `"endTime": 1553741935867`, `"endTime": 1553741853000`, 1)), 0o644)
	if res = runSend(t, "", false, "validate", good); res.code != 0 || !strings.Contains(res.out, k) {
		t.Errorf("validate good: exit %d\n%s%s", res.code, res.out, res.err)
	}
	if res = runSend(t, "", false, "validate", bad); res.code != ExitCheckFailed || !strings.Contains(res.out, "[time_order]") {
		t.Errorf("validate bad: exit %d\n%s%s", res.code, res.out, res.err)
	}

	// send: alone, and as the last callback of a lifecycle.
	var r receiver
	url := r.start(t, 200)
	if res = runSend(t, "", false, "send", k, "--to", url+"/cb"); res.code != 0 || len(r.bodies) != 1 || !strings.Contains(r.bodies[0], `"event":"moderation_done"`) {
		t.Fatalf("send: exit %d %v\n%s", res.code, r.bodies, res.err)
	}
	r.bodies = nil
	if res = runSend(t, "", false, "send", "lifecycle", "--snapshot-interval", "0", "--to", url+"/cb"); res.code != 0 || len(r.bodies) != 4 ||
		!strings.Contains(r.bodies[3], `"event":"moderation_done"`) {
		t.Fatalf("send lifecycle: exit %d %q\n%s", res.code, r.bodies, res.err)
	}

	// The contract suite has every per-kind case for it.
	res = runSend(t, "", false, "test", "--list", "--run", "moderation")
	for _, name := range []string{"sample/" + k, "drift/" + k + "/strings-as-numbers", "unknown-fields/" + k, "duplicate/" + k, "big-numbers/int64/" + k, "enum/" + k + "/verdict/block"} {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` `).MatchString(res.out) {
			t.Errorf("test --list has no case %s:\n%s", name, res.out)
		}
	}
	cases, err := contract.Suite(contract.SuiteOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if c.Name == "order/in-order" {
			if kinds := c.Kinds(); kinds[len(kinds)-1] != eventtest.Kind {
				t.Errorf("order/in-order: %v", kinds)
			}
		}
	}

	// demo sends it to its family's path and the listener accepts it there.
	res = runSend(t, "", false, "demo", "--save", filepath.Join(dir, "demo.ndjson"))
	if res.code != 0 || !regexp.MustCompile(`  POST /moderation +moderation_done .* OK  → 200`).MatchString(res.out) ||
		!strings.Contains(res.out, "8 callbacks: 7 valid") {
		t.Errorf("demo: exit %d\n%s%s", res.code, res.out, res.err)
	}
}
