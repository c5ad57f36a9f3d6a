package webhook

import "testing"

func TestNormalizeRepoURL(t *testing.T) {
	cases := []struct{ in, want string }{
		// One GitHub repository, every way of naming it.
		{"https://github.com/Codertocat/Hello-World.git", "github.com/Codertocat/Hello-World"},
		{"https://github.com/Codertocat/Hello-World", "github.com/Codertocat/Hello-World"},
		{"https://github.com/Codertocat/Hello-World/", "github.com/Codertocat/Hello-World"},
		{"https://GitHub.COM/Codertocat/Hello-World.git/", "github.com/Codertocat/Hello-World"},
		{"http://github.com/Codertocat/Hello-World", "github.com/Codertocat/Hello-World"},
		{"git://github.com/Codertocat/Hello-World.git", "github.com/Codertocat/Hello-World"},
		{"git@github.com:Codertocat/Hello-World.git", "github.com/Codertocat/Hello-World"},
		{"ssh://git@github.com/Codertocat/Hello-World.git", "github.com/Codertocat/Hello-World"},
		{"ssh://git@github.com:22/Codertocat/Hello-World.git", "github.com/Codertocat/Hello-World"},
		{"https://x-access-token:ghs_abc@github.com/Codertocat/Hello-World.git", "github.com/Codertocat/Hello-World"},
		{"https://github.com:443/Codertocat/Hello-World?tab=readme#top", "github.com/Codertocat/Hello-World"},
		{"github.com/Codertocat/Hello-World", "github.com/Codertocat/Hello-World"},
		{"  https://github.com/Codertocat/Hello-World.git\n", "github.com/Codertocat/Hello-World"},
		// Ports other than the scheme's default are kept.
		{"ssh://gitea@localhost:2222/gitea/webhooks.git", "localhost:2222/gitea/webhooks"},
		{"http://localhost:3000/gitea/webhooks.git", "localhost:3000/gitea/webhooks"},
		{"https://[2001:DB8::1]:8443/o/r.git", "[2001:db8::1]:8443/o/r"},
		// GitLab's subgroups.
		{"git@gitlab.example.com:group/sub/project.git", "gitlab.example.com/group/sub/project"},
		// Local repositories: cleaned absolute paths, .git kept.
		{"file:///srv/git/hello.git", "/srv/git/hello.git"},
		{"file:///srv/git/hello.git/", "/srv/git/hello.git"},
		{"file://localhost/srv/git/../git/hello.git", "/srv/git/hello.git"},
		{"FILE:///srv/git/hello.git", "/srv/git/hello.git"},
		{"file:///srv/my%20repos/hello", "/srv/my repos/hello"},
		{"/srv/git//hello.git", "/srv/git/hello.git"},
		{"", ""},
		{"   ", ""},
	}
	for _, c := range cases {
		if got := NormalizeRepoURL(c.in); got != c.want {
			t.Errorf("NormalizeRepoURL(%q) = %q; want %q", c.in, got, c.want)
		}
	}
}

func TestMatchesRepo(t *testing.T) {
	e := &Event{RepoURLs: []string{
		"https://github.com/Codertocat/Hello-World.git",
		"git@github.com:Codertocat/Hello-World.git",
	}}
	cases := []struct {
		configured string
		want       bool
	}{
		{"https://github.com/Codertocat/Hello-World", true},
		{"git@github.com:Codertocat/Hello-World", true},
		{"ssh://git@github.com/codertocat/hello-world.git", true}, // forges ignore case
		{"https://github.com/Codertocat/Hello-World-2", false},
		{"https://github.com/Codertocat", false},
		{"https://gitlab.com/Codertocat/Hello-World", false},
		{"https://github.com:8443/Codertocat/Hello-World", false},
		{"", false},
	}
	for _, c := range cases {
		if got := e.MatchesRepo(c.configured); got != c.want {
			t.Errorf("MatchesRepo(%q) = %v; want %v", c.configured, got, c.want)
		}
	}
	if (&Event{}).MatchesRepo("https://github.com/Codertocat/Hello-World") {
		t.Error("an event naming no repository matched")
	}
	var nilEvent *Event
	if nilEvent.MatchesRepo("https://github.com/Codertocat/Hello-World") {
		t.Error("a nil event matched")
	}
}
