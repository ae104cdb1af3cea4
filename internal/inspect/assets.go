package inspect

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"net/http"
	"strings"
)

// The pages: plain JavaScript and CSS, no build step. The served app
// loads them from the inspector; a report carries them inline.
//
//go:embed assets/index.html assets/app.js assets/app.css
var assets embed.FS

func mustAsset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic("inspect: embedded asset " + name + " missing: " + err.Error())
	}
	return string(b)
}

var (
	appJS     = mustAsset("app.js")
	appCSS    = mustAsset("app.css")
	indexHTML = mustAsset("index.html")
)

// indexPage is the app's page, carrying the run's token (hex: nothing to
// escape).
func indexPage(token string) string {
	return strings.Replace(indexHTML, "{{TOKEN}}", token, 1)
}

func asset(name, contentType string) http.HandlerFunc {
	body := mustAsset(name)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write([]byte(body))
	}
}

// cspHash is the CSP source that allows exactly one inline script or style.
func cspHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
