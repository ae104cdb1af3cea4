package contract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/livecb/livecb/contract"
)

// callbacks is a receiver written for video detections only: it refuses
// a quality detection of type "audio", which the service sends too.
func callbacks() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var cb struct {
			Type string `json:"type"`
		}
		if err := json.NewDecoder(r.Body).Decode(&cb); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		if cb.Type == "audio" {
			http.Error(w, "unknown media type", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// In a receiver's own tests, the suite is three lines: each case becomes
// a subtest (TestCallbackContract/enum/quality/type/audio).
func ExampleTest() {
	_ = func(t *testing.T) {
		contract.Test(t, callbacks(), contract.Options{})
	}
}

// Run runs the suite outside a test, here the enumerated values of a
// quality detection, and returns the results.
func Example() {
	srv := httptest.NewServer(callbacks())
	defer srv.Close()
	report, err := contract.Run(context.Background(), srv.URL, contract.Options{Run: regexp.MustCompile(`^enum/quality/`)})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range report.Results {
		if r.Outcome == contract.Fail {
			fmt.Println(r.Outcome, r.Case.Name+":", r.Reason)
			continue
		}
		fmt.Println(r.Outcome, r.Case.Name)
	}
	// Output:
	// pass enum/quality/module/BlackScreen
	// pass enum/quality/module/PureColor
	// pass enum/quality/module/ColorCast
	// pass enum/quality/module/FrozenFrame
	// pass enum/quality/module/Brightness
	// pass enum/quality/module/Contrast
	// pass enum/quality/type/video
	// fail enum/quality/type/audio: quality: answered 400 Bad Request, want 200: the receiver rejected a body the service sends
	// pass enum/quality/version/v1.0
	// pass enum/quality/version/v1.1
}
