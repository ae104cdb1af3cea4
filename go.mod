module github.com/livecb/livecb

go 1.26.8

require (
	github.com/agnivade/levenshtein v1.2.2
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	golang.org/x/text v0.28.0
)
