package shared

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error codes of the contract (SPEC §3, §4). Programs outside this repo match
// on these strings, so they never change once released.
const (
	CodeBadJSON               = "bad_json"
	CodeUnauthorized          = "unauthorized"
	CodeNotFound              = "not_found"
	CodeSlugTaken             = "slug_taken"
	CodeSlugReserved          = "slug_reserved"
	CodeDomainClaimed         = "domain_claimed"
	CodeDomainInUse           = "domain_in_use"
	CodeScriptNameTaken       = "script_name_taken"
	CodeRouteConflict         = "route_conflict"
	CodeDefaultApp            = "default_app"
	CodeVersionConflict       = "version_conflict"
	CodeTooLarge              = "too_large"
	CodeValidationFailed      = "validation_failed"
	CodeUnknownField          = "unknown_field"
	CodeSandboxExceedsCeiling = "sandbox_exceeds_ceiling"
	CodeInvalidDomain         = "invalid_domain"
	CodeInvalidSlug           = "invalid_slug"
	CodeInvalidRoute          = "invalid_route"
	CodeHostNotClaimed        = "host_not_claimed"
	CodeScriptSyntax          = "script_syntax"
	CodeUnknownHost           = "unknown_host"
	CodeNoRoute               = "no_route"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeScriptError           = "script_error"
	CodeSandboxLimit          = "sandbox_limit"
	CodeInternal              = "internal"
	// CodeBadRequest: the request body could not be read (e.g. the client
	// went away mid-upload).
	CodeBadRequest = "bad_request"
	// CodeNoQuorum: a write reached a cluster member that has no leader
	// with a majority to commit it (SPEC §12).
	CodeNoQuorum = "no_quorum"
	// Cluster membership (SPEC §12): the joining node refused the token;
	// it holds data of its own; it could not be reached or failed to join.
	CodeInvalidJoinToken = "invalid_join_token"
	CodeNodeNotEmpty     = "node_not_empty"
	CodeJoinFailed       = "join_failed"
)

// statuses is the HTTP status of every error code (SPEC §3, §4): the one
// place a code's status is decided. A new code adds its line here.
var statuses = map[string]int{
	CodeBadJSON:               http.StatusBadRequest,
	CodeBadRequest:            http.StatusBadRequest,
	CodeUnauthorized:          http.StatusUnauthorized,
	CodeNotFound:              http.StatusNotFound,
	CodeUnknownHost:           http.StatusNotFound,
	CodeNoRoute:               http.StatusNotFound,
	CodeMethodNotAllowed:      http.StatusMethodNotAllowed,
	CodeSlugTaken:             http.StatusConflict,
	CodeSlugReserved:          http.StatusConflict,
	CodeDomainClaimed:         http.StatusConflict,
	CodeDomainInUse:           http.StatusConflict,
	CodeScriptNameTaken:       http.StatusConflict,
	CodeRouteConflict:         http.StatusConflict,
	CodeKVQuotaExceeded:       http.StatusConflict,
	CodeDefaultApp:            http.StatusConflict,
	CodeVersionConflict:       http.StatusConflict,
	CodeTooLarge:              http.StatusRequestEntityTooLarge,
	CodeValidationFailed:      http.StatusUnprocessableEntity,
	CodeUnknownField:          http.StatusUnprocessableEntity,
	CodeSandboxExceedsCeiling: http.StatusUnprocessableEntity,
	CodeInvalidDomain:         http.StatusUnprocessableEntity,
	CodeInvalidSlug:           http.StatusUnprocessableEntity,
	CodeInvalidRoute:          http.StatusUnprocessableEntity,
	CodeHostNotClaimed:        http.StatusUnprocessableEntity,
	CodeScriptSyntax:          http.StatusUnprocessableEntity,
	CodeInvalidSchedule:       http.StatusUnprocessableEntity,
	CodeScriptError:           http.StatusInternalServerError,
	CodeInternal:              http.StatusInternalServerError,
	CodeSandboxLimit:          http.StatusInsufficientStorage,
	CodeNoQuorum:              http.StatusServiceUnavailable,
	CodeInvalidJoinToken:      http.StatusForbidden,
	CodeNodeNotEmpty:          http.StatusConflict,
	CodeJoinFailed:            http.StatusBadGateway,
}

// StatusOf is the HTTP status the contract gives code; an unknown code is
// 500, as an error that is not the contract's.
func StatusOf(code string) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is the one error type of the contract: an HTTP status, a stable code,
// a sentence for a person and the details a program needs (field, held_by,
// requested, ceiling, line, column, ...). The store and manager return it,
// the HTTP layer writes it and the client decodes it back, so nothing ever
// matches on error text.
type Error struct {
	// Status is StatusOf(Code) unless set otherwise (WithStatus); the
	// client sets it from the answer.
	Status  int
	Code    string
	Message string
	Details map[string]any
}

// Errorf builds an *Error of code, with its status, and a formatted
// message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Status: StatusOf(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithStatus returns a copy of e answered with status instead of its
// code's, for the few answers whose status says more than the code (503
// internal: the node is not ready).
func (e *Error) WithStatus(status int) *Error {
	c := *e
	c.Status = status
	return &c
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// With returns a copy of e with one more detail.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// Detail returns a detail as a string ("" when absent), for the common case
// of field and held_by.
func (e *Error) Detail(key string) string {
	v, ok := e.Details[key]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// MarshalJSON writes the contract's envelope:
// {"error": {"code": ..., "message": ..., <details>}}.
func (e *Error) MarshalJSON() ([]byte, error) {
	body := make(map[string]any, len(e.Details)+2)
	for k, v := range e.Details {
		body[k] = v
	}
	body["code"] = e.Code
	body["message"] = e.Message
	return json.Marshal(map[string]any{"error": body})
}

// UnmarshalJSON reads the envelope written by MarshalJSON. Status is not part
// of the body; the client sets it from the response.
func (e *Error) UnmarshalJSON(b []byte) error {
	var env struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return err
	}
	if env.Error == nil {
		return errors.New("no error object in body")
	}
	e.Code, _ = env.Error["code"].(string)
	e.Message, _ = env.Error["message"].(string)
	delete(env.Error, "code")
	delete(env.Error, "message")
	e.Details = nil
	if len(env.Error) > 0 {
		e.Details = env.Error
	}
	return nil
}

// AsError reports whether err is (or wraps) an *Error and returns it.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	e, ok := AsError(err)
	return ok && e.Code == code
}

// Common constructors, so the same situation reads the same everywhere.

func NotFound(what string, id any) *Error {
	return Errorf(CodeNotFound, "%s %v not found", what, id)
}

func Validation(field, format string, args ...any) *Error {
	return Errorf(CodeValidationFailed, format, args...).With("field", field)
}

func UnknownField(field string) *Error {
	return Errorf(CodeUnknownField, "unknown field %q", field).With("field", field)
}

func BadJSON(format string, args ...any) *Error {
	return Errorf(CodeBadJSON, format, args...)
}

func TooLarge(limit int64) *Error {
	return Errorf(CodeTooLarge, "body is larger than %d bytes", limit).With("limit", limit)
}
