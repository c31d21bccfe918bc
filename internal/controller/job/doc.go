// Package job is the Job controller: it runs a Job's pods to completion.
//
// For each Job it keeps up to spec.parallelism pods active until
// spec.completions pods have succeeded (NonIndexed), or until each index
// 0..completions-1 has a succeeded pod (Indexed: pods carry the
// batch.kubernetes.io/job-completion-index annotation and label, the
// hostname <job>-<index> and a JOB_COMPLETION_INDEX variable read from the
// annotation). Failed pods are replaced after an exponential back-off
// (Config.BackoffBase doubling up to Config.BackoffMax, 10s and 6m as
// upstream) until more than spec.backoffLimit have failed (with
// restartPolicy OnFailure container restarts count too). Pod failures are
// matched against spec.podFailurePolicy (FailJob, Ignore, Count).
// spec.activeDeadlineSeconds bounds the run, spec.suspend deletes active
// pods and stops creating them.
//
// Finished pods are counted exactly once with upstream's tracking
// protocol: every pod is created with the batch.kubernetes.io/job-tracking
// finalizer; a finished pod's UID is first written to
// status.uncountedTerminatedPods, then its finalizer is removed, then the
// UID moves into status.succeeded or status.failed. A Job that meets its
// success or failure criteria first gets SuccessCriteriaMet or
// FailureTarget, has its remaining pods deleted, and gets Complete or
// Failed once none of its pods is terminating.
//
//	informers (jobs, pods) ─▶ queue of job keys ─▶ sync(key)
//	   sync: count finished pods ─▶ flush status ─▶ remove finalizers
//	         ─▶ conditions ─▶ create/delete pods ─▶ write status
//
// Only internal/server imports this package (through Descriptor). The
// Controller is safe for concurrent use; Run blocks until its context
// ends.
package job
