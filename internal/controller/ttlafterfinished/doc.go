// Package ttlafterfinished is the TTL-after-finished controller: it
// deletes a Job (with background propagation, so its pods follow) once
// spec.ttlSecondsAfterFinished have passed since it became Complete or
// Failed.
//
// Before deleting, it reads the Job from the API server (not the cache)
// and checks the TTL again, so that a TTL just raised by the user is
// honoured; the delete carries the Job's UID as a precondition. The wake-ups
// are timers of the injected clock (Config.Clock).
//
// Only internal/server imports this package (through Descriptor).
package ttlafterfinished
