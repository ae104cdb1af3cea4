package capture

import "github.com/livecb/livecb/internal/event"

// Codes of the findings a listener makes about a request rather than its
// body (internal/event knows only bodies). A record keeps them in Findings;
// a body checked again later cannot show them, so whoever re-checks a
// captured body keeps these from the record (RequestFinding).
const (
	CodeBodyTooLarge    event.Code = "body_too_large"
	CodeMethod          event.Code = "method_not_allowed"
	CodeContentType     event.Code = "content_type"
	CodeWrongFamilyPath event.Code = "wrong_family_path"
	CodeUnexpectedPath  event.Code = "unexpected_path"
	CodeContentEncoding event.Code = "content_encoding"
	CodeForwardLoop     event.Code = "forward_loop"
)

// RequestFinding reports whether code is about the request (method, size,
// headers, path) rather than the body; a body cut at the listener's limit
// (event.CodeTruncated) counts, since the cut is the request's.
func RequestFinding(code event.Code) bool {
	switch code {
	case CodeBodyTooLarge, CodeMethod, CodeContentType, CodeWrongFamilyPath, CodeUnexpectedPath, CodeContentEncoding,
		CodeForwardLoop, event.CodeTruncated:
		return true
	}
	return false
}
