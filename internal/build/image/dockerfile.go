package image

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// instruction is one Dockerfile instruction: the line it starts on and its
// text with continuation lines joined.
type instruction struct {
	Line int
	Text string
}

var directiveRE = regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`)

// parseInstructions lists a Dockerfile's instructions in order, the way the
// Engine's parser counts them: comments and blank lines are skipped, a line
// ending with the escape character (`\`, or the `# escape=` directive's)
// continues on the next, and comments inside a continuation are dropped. The
// legacy builder's "Step K/N" is the K-th of these.
func parseInstructions(r io.Reader) ([]instruction, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	escape := byte('\\')
	inDirectives := true
	var out []instruction
	var cur *instruction
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		trimmed := strings.TrimLeft(line, " \t")
		if inDirectives {
			if m := directiveRE.FindStringSubmatch(trimmed); m != nil {
				if strings.EqualFold(m[1], "escape") && (m[2] == "`" || m[2] == `\`) {
					escape = m[2][0]
				}
				continue
			}
			inDirectives = false
		}
		if strings.HasPrefix(trimmed, "#") || strings.TrimSpace(trimmed) == "" {
			continue // comments and blank lines, also inside a continuation
		}
		body := strings.TrimRight(trimmed, " \t\r")
		continues := strings.HasSuffix(body, string(escape))
		if continues {
			body = strings.TrimRight(body[:len(body)-1], " \t")
		}
		if cur == nil {
			out = append(out, instruction{Line: n, Text: body})
			cur = &out[len(out)-1]
		} else if body != "" {
			cur.Text += " " + body
		}
		if !continues {
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read Dockerfile: %w", err)
	}
	return out, nil
}

// BuildError is a failed image build. When the failing step could be mapped
// to the Dockerfile, Line is its line number (from 1) and Instruction its
// text; Error() then reads "Dockerfile:4: RUN ./missing: <daemon message>".
type BuildError struct {
	Dockerfile  string // the Dockerfile's path in the build context
	Line        int    // 0 when the failure is not at a known line
	Step, Steps int    // the builder's "Step K/N", 0 when no step had started
	Instruction string
	Message     string // the Engine's own message
}

func (e *BuildError) Error() string {
	switch {
	case e.Line > 0 && e.Instruction == "":
		return fmt.Sprintf("%s:%d: %s", e.Dockerfile, e.Line, e.Message)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s: %s", e.Dockerfile, e.Line, e.Instruction, e.Message)
	case e.Step > 0:
		return fmt.Sprintf("%s step %d/%d: %s: %s", e.Dockerfile, e.Step, e.Steps, e.Instruction, e.Message)
	default:
		return fmt.Sprintf("build %s: %s", e.Dockerfile, e.Message)
	}
}

// parseErrorRE reads the Engine's refusal of a Dockerfile it cannot parse,
// the one place it names a line itself.
var parseErrorRE = regexp.MustCompile(`dockerfile parse error (?:on )?line (\d+): (.+)$`)

// parseFailure is the BuildError for a Dockerfile the Engine refused.
func parseFailure(dockerfile string, instrs []instruction, line, msg string) *BuildError {
	e := &BuildError{Dockerfile: dockerfile, Message: msg}
	fmt.Sscan(line, &e.Line)
	for _, in := range instrs {
		if in.Line == e.Line {
			e.Instruction = in.Text
		}
	}
	return e
}

// stepRE matches the Docker legacy builder's "Step 2/5 : COPY . /app" and
// Podman's (Buildah's) "STEP 2/5: COPY . /app".
var stepRE = regexp.MustCompile(`^(?:Step|STEP) (\d+)/(\d+) ?: (.*)$`)

// stepTracker follows the legacy builder's output, line by line, to know
// which step is running when the build fails.
type stepTracker struct {
	partial     string
	step, steps int
	text        string
}

func (s *stepTracker) write(chunk string) {
	s.partial += chunk
	for {
		line, rest, ok := strings.Cut(s.partial, "\n")
		if !ok {
			return
		}
		s.partial = rest
		if m := stepRE.FindStringSubmatch(strings.TrimRight(line, "\r")); m != nil {
			fmt.Sscan(m[1], &s.step)
			fmt.Sscan(m[2], &s.steps)
			s.text = m[3]
		}
	}
}

// failure maps the running step to its Dockerfile line. Docker's builder
// appends one step per build label after the Dockerfile's own (added);
// when its step count disagrees with the parsed Dockerfile, the step is
// reported unmapped rather than pinned to a wrong line.
func (s *stepTracker) failure(dockerfile string, instrs []instruction, added int, msg string) *BuildError {
	e := &BuildError{Dockerfile: dockerfile, Step: s.step, Steps: s.steps, Instruction: s.text, Message: strings.TrimSpace(msg)}
	counted := s.steps == len(instrs) || s.steps == len(instrs)+added
	if s.step >= 1 && s.step <= len(instrs) && counted {
		e.Line = instrs[s.step-1].Line
		e.Instruction = instrs[s.step-1].Text
	}
	return e
}
