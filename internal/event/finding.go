package event

import (
	"fmt"
	"strings"
)

// Severity of a finding.
type Severity string

const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Code is a stable identifier of a validation rule, for scripts and for
// `--output json`. Codes never change meaning once released.
type Code string

const (
	CodeEmpty          Code = "empty_body"
	CodeBOM            Code = "byte_order_mark"
	CodeInvalidUTF8    Code = "invalid_utf8"
	CodeNotJSON        Code = "not_json"
	CodeTrailingData   Code = "trailing_data"
	CodeNotObject      Code = "not_object"
	CodeUnknownKind    Code = "unknown_kind"
	CodeMissingField   Code = "missing_field"
	CodeWrongType      Code = "wrong_type"
	CodeNotNumber      Code = "not_a_number"
	CodeNegative       Code = "negative_value"
	CodeTimeOrder      Code = "time_order"
	CodeBadURL         Code = "bad_url"
	CodeGroupEmpty     Code = "group_empty"
	CodeGroupTooLong   Code = "group_too_long"
	CodeNotAllowed     Code = "value_not_allowed"
	CodeSchema         Code = "schema"
	CodeTypeDrift      Code = "type_drift"
	CodeDecimalString  Code = "decimal_string"
	CodeLegacyField    Code = "legacy_field"
	CodeUnknownField   Code = "unknown_field"
	CodePadded         Code = "padded_value"
	CodeImplausibleTS  Code = "implausible_timestamp"
	CodeStatus         Code = "unexpected_status"
	CodeVersion        Code = "unexpected_version"
	CodeDuplicateField Code = "duplicate_field"
	CodeTruncated      Code = "truncated_line"
	// CodeFindingsTruncated counts the findings of a body beyond
	// Options.MaxFindings.
	CodeFindingsTruncated Code = "findings_truncated"
)

// Finding is one thing validation has to say about a body.
type Finding struct {
	// Path is a JSON Pointer (RFC 6901) to the value concerned; "" is the
	// whole body.
	Path     string   `json:"path"`
	Severity Severity `json:"severity"`
	Code     Code     `json:"code"`
	Message  string   `json:"message"`
	// Line and Column locate syntax errors in the body (1-based).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
}

func (f Finding) String() string {
	path := f.Path
	if path == "" {
		path = "(body)"
	}
	return fmt.Sprintf("%s %s: %s [%s]", f.Severity, path, f.Message, f.Code)
}

// Findings is the result of validating one body.
type Findings []Finding

// HasErrors reports whether any finding is an error.
func (fs Findings) HasErrors() bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

// Count returns the number of errors and warnings.
func (fs Findings) Count() (errors, warnings int) {
	for _, f := range fs {
		if f.Severity == Error {
			errors++
		} else {
			warnings++
		}
	}
	return
}

// pointer builds a JSON Pointer from reference tokens, escaping ~ and /.
func pointer(tokens ...string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		b.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return b.String()
}
