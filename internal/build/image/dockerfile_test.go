package image

import (
	"strings"
	"testing"
)

func TestParseInstructions_CountsLikeTheEngine(t *testing.T) {
	const dockerfile = "\ufeff# escape=`\n" +
		"# syntax is ignored by the legacy builder\n" +
		"\n" +
		"ARG BASE=scratch\n" + // 4
		"FROM ${BASE} AS app\n" + // 5
		"  # an indented comment\n" +
		"RUN a && `\n" + // 7
		"    # a comment inside is dropped\n" +
		"\n" +
		"    b\n" +
		"COPY x \\y /z\n" + // 11: the escape is ` here
		"ENV A=1 `  \n" + // 12: trailing blanks after the escape
		"    B=2\n" +
		"CMD [\"/app\"]" // 14, no final newline
	got, err := parseInstructions(strings.NewReader(dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	want := []instruction{
		{4, "ARG BASE=scratch"},
		{5, "FROM ${BASE} AS app"},
		{7, "RUN a && b"},
		{11, `COPY x \y /z`},
		{12, "ENV A=1 B=2"},
		{14, `CMD ["/app"]`},
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d instructions %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("instruction %d = %+v, want %+v", i+1, got[i], want[i])
		}
	}
}

func TestStepTracker_MapsTheFailingStepToItsLine(t *testing.T) {
	instrs := []instruction{{2, "FROM scratch"}, {5, "COPY a /a"}}
	var s stepTracker
	// The stream may split lines anywhere.
	for _, chunk := range []string{"Step 1/3 : FROM scratch\n ---> \n", "Step 2/3 : CO", "PY a /a\n"} {
		s.write(chunk)
	}
	err := s.failure("Dockerfile", instrs, 1, "COPY failed: nope\n")
	if err.Error() != "Dockerfile:5: COPY a /a: COPY failed: nope" {
		t.Errorf("error = %q", err)
	}
	// A step count that disagrees with the parse is reported, not mapped.
	err = s.failure("Dockerfile", instrs[:1], 0, "boom")
	if err.Line != 0 || err.Error() != "Dockerfile step 2/3: COPY a /a: boom" {
		t.Errorf("unmapped error = %q (line %d)", err, err.Line)
	}
	// Podman prints "STEP K/N: ..." and adds no steps for labels.
	var podman stepTracker
	podman.write("STEP 1/2: FROM scratch\nSTEP 2/2: COPY a /a\n")
	if got := podman.failure("Dockerfile", instrs, 1, "nope").Error(); got != "Dockerfile:5: COPY a /a: nope" {
		t.Errorf("podman error = %q", got)
	}
	var none stepTracker
	if got := none.failure("Dockerfile", instrs, 1, "no such Dockerfile").Error(); got != "build Dockerfile: no such Dockerfile" {
		t.Errorf("error before any step = %q", got)
	}
}
