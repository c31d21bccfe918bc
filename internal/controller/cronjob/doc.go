// Package cronjob is the CronJob controller: it creates a Job from a
// CronJob's jobTemplate at each time its schedule names.
//
// On each sync of a CronJob it reconciles status.active with the Jobs the
// CronJob controls (dropping finished and vanished ones, noting
// lastSuccessfulTime), finds the most recent schedule time that has passed
// since lastScheduleTime (or the creation time, bounded by
// startingDeadlineSeconds; over 100 missed times it warns
// TooManyMissedTimes, as upstream), and, unless suspended, too late or
// blocked by concurrencyPolicy (Forbid skips, Replace deletes the running
// Jobs), creates the Job <cronjob>-<scheduled time in minutes since the
// epoch>. It then deletes finished Jobs beyond the history limits and
// asks to be woken at the next schedule time.
//
// Time comes from an injected clock (Config.Clock), and the wake-ups are
// timers of that clock, so a test with a fake clock steps through minutes
// without waiting for them.
//
// Jobs created by `kubectl create job --from=cronjob/x` carry the
// cronjob.kubernetes.io/instantiate: manual annotation and a controller
// reference to the CronJob; the controller leaves them alone (they are
// not added to status.active, as upstream) but counts them for history.
//
// Only internal/server imports this package (through Descriptor).
package cronjob
