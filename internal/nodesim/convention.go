package nodesim

import (
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Annotations a test may put on a pod to steer what its simulated node
// does with it. They are read at every sync, so they may be changed while
// the pod runs (kubectl annotate).
const (
	// AnnotationExitCode makes every regular container exit with this
	// code (an integer) once it has run for AnnotationRunFor. It wins over
	// what the container's command says.
	AnnotationExitCode = "nodesim.skiff.dev/exit-code"
	// AnnotationRunFor is how long (a Go duration, "0s" by default) the
	// containers run before they exit with AnnotationExitCode.
	AnnotationRunFor = "nodesim.skiff.dev/run-for"
	// AnnotationReady forces readiness: "false" keeps every container
	// unready, "true" makes running containers ready whatever their
	// probes say. Simulator.SetReady wins over it.
	AnnotationReady = "nodesim.skiff.dev/ready"
	// AnnotationStartDelay overrides Config.PodStartDelay for one pod (a
	// Go duration): how long the pod stays Pending in ContainerCreating.
	AnnotationStartDelay = "nodesim.skiff.dev/start-delay"
	// AnnotationSimulated is set to "true" on every Node the simulator
	// registers.
	AnnotationSimulated = "nodesim.skiff.dev/simulated"
)

// exit says whether and how a container process ends on its own.
type exit struct {
	// after is how long the process runs; it is meaningful only when
	// exits is true.
	after time.Duration
	code  int32
	exits bool
}

// containerExit reads how container c of pod behaves once started: the
// annotations first, then the container's command line (see the package
// doc for the script convention).
func containerExit(pod *corev1.Pod, c *corev1.Container) exit {
	if v, ok := pod.Annotations[AnnotationExitCode]; ok {
		if code, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32); err == nil {
			e := exit{exits: true, code: int32(code)}
			if d, err := time.ParseDuration(pod.Annotations[AnnotationRunFor]); err == nil && d > 0 {
				e.after = d
			}
			return e
		}
	}
	return commandExit(append(append([]string(nil), c.Command...), c.Args...))
}

// commandExit interprets an argv: `true`, `false`, `sleep N`, `exit N`
// run directly or as a `sh -c` (bash -c) script of such statements joined
// by ";", "&&" or newlines. echo, printf and ":" take no time. Anything
// else, or no command at all, runs until stopped.
func commandExit(argv []string) exit {
	if len(argv) == 0 {
		return exit{}
	}
	if isShell(argv[0]) {
		// sh -c SCRIPT [NAME ARGS...]; also sh -ec, sh -xc.
		if len(argv) >= 3 && strings.HasPrefix(argv[1], "-") && strings.HasSuffix(argv[1], "c") {
			return scriptExit(argv[2])
		}
		return exit{}
	}
	return scriptExit(strings.Join(argv, " "))
}

func isShell(s string) bool {
	switch s[strings.LastIndex(s, "/")+1:] {
	case "sh", "bash", "ash", "dash":
		return true
	}
	return false
}

// scriptExit interprets a tiny shell subset; see commandExit.
func scriptExit(script string) exit {
	script = strings.NewReplacer("&&", ";", "\n", ";").Replace(script)
	var e exit
	for stmt := range strings.SplitSeq(script, ";") {
		f := strings.Fields(stmt)
		if len(f) == 0 {
			continue
		}
		name := f[0][strings.LastIndex(f[0], "/")+1:]
		switch name {
		case "true", ":":
			e.code = 0
		case "false":
			e.code = 1
		case "echo", "printf":
			e.code = 0
		case "sleep":
			if len(f) != 2 {
				return exit{}
			}
			d, ok := parseSleep(f[1])
			if !ok {
				return exit{}
			}
			e.after += d
			e.code = 0
		case "exit":
			e.code = 0
			if len(f) > 1 {
				n, err := strconv.ParseInt(f[1], 10, 32)
				if err != nil {
					return exit{}
				}
				e.code = int32(n & 0xff)
			}
			e.exits = true
			return e
		default:
			return exit{}
		}
	}
	e.exits = true
	return e
}

// parseSleep reads sleep's operand: seconds, optionally with an s, m, h or
// d suffix; "infinity" never ends.
func parseSleep(s string) (time.Duration, bool) {
	unit := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = strings.TrimSuffix(s, "s")
	case strings.HasSuffix(s, "m"):
		s, unit = strings.TrimSuffix(s, "m"), time.Minute
	case strings.HasSuffix(s, "h"):
		s, unit = strings.TrimSuffix(s, "h"), time.Hour
	case strings.HasSuffix(s, "d"):
		s, unit = strings.TrimSuffix(s, "d"), 24*time.Hour
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1e9 {
		return 0, false
	}
	return time.Duration(f * float64(unit)), true
}

// probeFails reports whether an exec probe's command is one that always
// fails under the convention: false, exit N with N≠0, directly or as a
// sh -c script. Every other probe (http, tcp, grpc, other commands)
// succeeds.
func probeFails(p *corev1.Probe) bool {
	if p == nil || p.Exec == nil || len(p.Exec.Command) == 0 {
		return false
	}
	e := commandExit(p.Exec.Command)
	return e.exits && e.code != 0
}

// probeDelay is when a probe first succeeds, counted from the container's
// start: initialDelaySeconds, then successThreshold successes one
// periodSeconds apart.
func probeDelay(p *corev1.Probe) time.Duration {
	if p == nil {
		return 0
	}
	d := time.Duration(p.InitialDelaySeconds) * time.Second
	if p.SuccessThreshold > 1 {
		period := p.PeriodSeconds
		if period <= 0 {
			period = 10
		}
		d += time.Duration(p.SuccessThreshold-1) * time.Duration(period) * time.Second
	}
	return d
}
