package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/layerctl/layerctl/pkg/image"
)

// The scripts ask layerctl itself (urfave/cli's --generate-bash-completion)
// with the words typed so far, --root included, so that what they offer is
// this binary's commands and flags and this store's images and containers.
// A flag being typed goes as "-": urfave/cli then lists every flag (the
// shell keeps those that match), where the partial flag would fail to parse.
const bashCompletion = `# layerctl completion for bash: source <(layerctl completion bash)
_layerctl_complete() {
	local cur="${COMP_WORDS[COMP_CWORD]}" opts
	if [[ "$cur" == -* ]]; then
		opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" - --generate-bash-completion 2>/dev/null)
	else
		opts=$("${COMP_WORDS[@]:0:$COMP_CWORD}" --generate-bash-completion 2>/dev/null)
	fi
	COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o bashdefault -o default -F _layerctl_complete layerctl
`

const zshCompletion = `#compdef layerctl
# layerctl completion for zsh: layerctl completion zsh > "${fpath[1]}/_layerctl"
_layerctl() {
	local cur=${words[CURRENT]}
	local -a opts
	if [[ "$cur" == -* ]]; then
		opts=("${(@f)$(${words[1,CURRENT-1]} - --generate-bash-completion 2>/dev/null)}")
	else
		opts=("${(@f)$(${words[1,CURRENT-1]} --generate-bash-completion 2>/dev/null)}")
	fi
	if [[ -n "${opts[1]}" ]]; then
		_describe 'values' opts
	else
		_files
	fi
}
compdef _layerctl layerctl
`

var completionCommand = &cli.Command{
	Name:      "completion",
	Usage:     "print a shell completion script: source <(layerctl completion bash)",
	ArgsUsage: "bash|zsh",
	Action: func(c *cli.Context) error {
		switch sh := c.Args().First(); {
		case c.NArg() != 1:
			return fmt.Errorf("completion: want bash or zsh")
		case sh == "bash":
			fmt.Print(bashCompletion)
		case sh == "zsh":
			fmt.Print(zshCompletion)
		default:
			return fmt.Errorf("completion: %q: want bash or zsh", sh)
		}
		return nil
	},
}

// setCompletion makes every command that takes images or containers offer
// the store's, and flags after a "-".
func setCompletion(cmds []*cli.Command) {
	for _, cmd := range cmds {
		wantImages := strings.Contains(cmd.ArgsUsage, "IMAGE")
		wantContainers := strings.Contains(cmd.ArgsUsage, "CONTAINER")
		if cmd.BashComplete == nil && (wantImages || wantContainers) {
			cmd.BashComplete = completeNames(cmd, wantImages, wantContainers)
		}
		setCompletion(cmd.Subcommands)
	}
}

func completeNames(cmd *cli.Command, images, containers bool) cli.BashCompleteFunc {
	flags := cli.DefaultCompleteWithFlags(cmd)
	return func(c *cli.Context) {
		if n := len(os.Args); n > 2 && strings.HasPrefix(os.Args[n-2], "-") {
			flags(c)
			return
		}
		// Completion must not create a store, nor say anything on failure.
		if _, err := os.Stat(c.String("root")); err != nil || needRoot() != nil {
			return
		}
		s, err := openStores(c)
		if err != nil {
			return
		}
		defer s.Close()
		if images {
			refs, _ := s.ImageRefs()
			for n := range refs {
				fmt.Fprintln(c.App.Writer, image.ShortName(n))
			}
		}
		if containers {
			all, _ := s.List()
			for _, st := range all {
				fmt.Fprintln(c.App.Writer, st.Name)
			}
		}
	}
}
