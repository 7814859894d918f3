package shared

// VersionConflict is the answer to a save made against an older version
// (a PATCH with if_version, SPEC §3 Scripts): 409, naming current_version.
func VersionConflict(what string, id, current int64) *Error {
	return Errorf(CodeVersionConflict,
		"%s %d was changed elsewhere: it is now at version %d", what, id, current).With("current_version", current)
}

// ConflictVersion returns the current_version of a version_conflict error.
func ConflictVersion(err error) (int64, bool) {
	e, ok := AsError(err)
	if !ok || e.Code != CodeVersionConflict {
		return 0, false
	}
	switch v := e.Details["current_version"].(type) {
	case int64:
		return v, true
	case float64: // decoded from JSON
		return int64(v), true
	}
	return 0, false
}
