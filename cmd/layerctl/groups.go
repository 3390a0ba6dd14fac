package main

import "github.com/urfave/cli/v2"

// addManagementNames puts the commands under Docker's management groups too
// ("docker image ls", "docker container rm"): the same commands, by the
// names Docker gives them there.
func addManagementNames() {
	imageCommand.Subcommands = append(imageCommand.Subcommands,
		as(buildCommand, "build"), as(historyCommand, "history"), as(importCommand, "import"), as(inspectCommand, "inspect"),
		as(loadCommand, "load"), as(imagesCommand, "ls", "list"), as(pullCommand, "pull"),
		as(pushCommand, "push"), as(rmiCommand, "rm", "remove"), as(saveCommand, "save"),
		as(tagCommand, "tag"))
	containerCommand.Subcommands = append(containerCommand.Subcommands,
		as(commitCommand, "commit"), as(cpCommand, "cp"), as(createCommand, "create"),
		as(diffCommand, "diff"), as(execCommand, "exec"), as(exportCommand, "export"), as(inspectCommand, "inspect"),
		as(killCommand, "kill"), as(logsCommand, "logs"), as(psCommand, "ls", "list", "ps"),
		as(mountCommand, "mount"), as(pauseCommand, "pause"), as(renameCommand, "rename"), as(restartCommand, "restart"), as(rmCommand, "rm", "remove"),
		as(runCommand, "run"), as(startCommand, "start"), as(statsCommand, "stats"), as(stopCommand, "stop"), as(topCommand, "top"),
		as(umountCommand, "umount", "unmount"), as(unpauseCommand, "unpause"), as(waitCommand, "wait"))
}

// as is cmd under another name: a copy, so that each place it is listed
// gets its own help name and handlers.
func as(cmd *cli.Command, name string, aliases ...string) *cli.Command {
	c := *cmd
	c.Name, c.Aliases = name, aliases
	return &c
}
