package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/layerctl/layerctl/pkg/image"
)

var loginCommand = &cli.Command{
	Name:      "login",
	Usage:     "keep a registry's credentials (in the Docker config file or its credential helper)",
	ArgsUsage: "[SERVER]",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "username", Aliases: []string{"u"}, Usage: "user `NAME`"},
		&cli.StringFlag{Name: "password", Aliases: []string{"p"}, Usage: "`PASSWORD` (visible to other users: prefer --password-stdin)"},
		&cli.BoolFlag{Name: "password-stdin", Usage: "read the password from stdin"},
		&cli.BoolFlag{Name: "insecure", Usage: "allow plain HTTP and unverified TLS"},
	},
	Action: func(c *cli.Context) error {
		if c.NArg() > 1 {
			return fmt.Errorf("login: want at most one SERVER")
		}
		server := c.Args().First()
		if server == "" {
			server = "docker.io"
		}
		user, password, err := loginCredentials(c)
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if err := image.Login(c.Context, server, user, password, c.Bool("insecure")); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		fmt.Println("Login Succeeded")
		return nil
	},
}

// loginCredentials takes the user name and password from the flags, stdin
// (--password-stdin) or, on a terminal, prompts.
func loginCredentials(c *cli.Context) (user, password string, err error) {
	user, password = c.String("username"), c.String("password")
	if c.Bool("password-stdin") {
		if password != "" {
			return "", "", fmt.Errorf("--password and --password-stdin: give one")
		}
		if user == "" {
			return "", "", fmt.Errorf("--password-stdin needs --username")
		}
		b, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		if err != nil {
			return "", "", fmt.Errorf("read the password: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	tty := term.IsTerminal(int(os.Stdin.Fd()))
	if user == "" && tty {
		fmt.Fprint(os.Stderr, "Username: ")
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil {
			return "", "", fmt.Errorf("read the user name: %w", err)
		}
		user = strings.TrimSpace(line)
	}
	if password == "" && tty {
		fmt.Fprint(os.Stderr, "Password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return "", "", fmt.Errorf("read the password: %w", err)
		}
		password = string(b)
	}
	if user == "" || password == "" {
		return "", "", fmt.Errorf("want a user name and a password (-u NAME --password-stdin)")
	}
	return user, password, nil
}

var logoutCommand = &cli.Command{
	Name:      "logout",
	Usage:     "forget a registry's credentials",
	ArgsUsage: "[SERVER]",
	Action: func(c *cli.Context) error {
		if c.NArg() > 1 {
			return fmt.Errorf("logout: want at most one SERVER")
		}
		server := c.Args().First()
		if server == "" {
			server = "docker.io"
		}
		if err := image.Logout(server); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
		fmt.Printf("Removing login credentials for %s\n", server)
		return nil
	},
}
