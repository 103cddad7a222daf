"""Commands that look after digitizer itself: config (init, show), catalog (rebuild,
events), discdb (import), offset (find), cluster (certs)."""

from __future__ import annotations

from pathlib import Path

import click

from digitizer.cli.common import SuggestingGroup, json_dumps, json_option, output, pass_env
from digitizer.cli.complete import complete_fingerprints, complete_sources


@click.group(cls=SuggestingGroup, short_help="Show or create the configuration.")
def config():
    """Show or create the TOML configuration.

    \b
    Example:
      digitizer config init && digitizer config show
    """


@config.command("init", short_help="Write a commented default config.toml.")
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
def config_init(force):
    """Write a commented default config.toml (XDG path, or under DIGITIZER_HOME).

    \b
    Example:
      digitizer config init
    """
    from digitizer import config as cfgmod
    from digitizer.markers import write_text_atomic

    path = cfgmod.config_path()
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists (use --force to overwrite)")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, cfgmod.default_toml())
    click.echo(str(path))


@config.command("show", short_help="Print the effective configuration.")
@click.option("--toml", "as_toml", is_flag=True, help="Print TOML instead of JSON.")
def config_show(as_toml):
    """Print the effective configuration: defaults, config file and environment merged.
    A config with an unknown key or a bad value is still shown (with the default in its
    place), each problem is said on stderr, and the exit code is 2, as for every other
    command that meets that config.

    \b
    Example:
      DIGITIZER_PRESET=hevc digitizer config show --toml
    """
    import sys

    from digitizer import config as cfgmod

    cfg = cfgmod.load(strict=False)
    if as_toml:
        import tomli_w

        click.echo(tomli_w.dumps(cfg.values), nl=False)
    else:
        import json

        shown = dict(cfg.values, config_file=str(cfg.path))
        if cfg.problems:
            shown["problems"] = cfg.problems
        click.echo(json.dumps(shown, indent=2))
    for message in cfg.problems:
        click.echo(f"digitizer: {message}", err=True)
    if cfg.problems:
        from digitizer.errors import USAGE

        sys.exit(USAGE)


@click.group(cls=SuggestingGroup, short_help="Inspect or rebuild the catalog.")
def catalog():
    """Inspect or rebuild the SQLite catalog.

    \b
    Example:
      digitizer catalog rebuild
    """


@catalog.command("rebuild", short_help="Rebuild the catalog from the sidecar markers.")
@pass_env
def catalog_rebuild(env):
    """Forget discs, titles and steps, and read them back from the markers under the
    staging, transcoded and library folders (the history of events is kept).

    \b
    Example:
      digitizer catalog rebuild
    """
    from digitizer import rebuild

    click.echo(json_dumps(rebuild.rebuild(env.cfg, env.catalog)))


@catalog.command("events", short_help="Print the event history.")
@click.option("--fingerprint", help="Only this disc's events.",
              shell_complete=complete_fingerprints)
@click.option("--limit", default=50, show_default=True, help="How many events, newest first.")
@json_option
@pass_env
def catalog_events(env, fingerprint, limit, as_array, table):
    """Print the append-only event history, newest first: a table on a terminal, one JSON
    object per line when piped.

    \b
    Example:
      digitizer catalog events --limit 10
      digitizer catalog events --fingerprint 0bff7fd7 | jq .event
    """
    out = output(as_array, table, ["time", "event", "fingerprint", "title", "details"],
                 rows=_event_row)
    out.emit_all(env.catalog.events(fingerprint, limit))
    out.close()


def _event_row(event: dict) -> list[dict]:
    import time

    details = " ".join(f"{k}={v}" for k, v in sorted((event.get("data") or {}).items()))
    return [dict(event, time=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event["time"])),
                 fingerprint=(event.get("fingerprint") or "")[:12] or None, details=details)]


@click.command(short_help="Print the shell completion script for bash, zsh or fish.")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell):
    """Print the completion script of SHELL, for installs that did not put one in place
    (pipx, uv tool, a venv). Commands, options, presets, drives and the fingerprints of
    known discs complete.

    \b
    Example:
      digitizer completion bash > ~/.local/share/bash-completion/completions/digitizer
      digitizer completion zsh > "${fpath[1]}/_digitizer"
      digitizer completion fish > ~/.config/fish/completions/digitizer.fish
    """
    from digitizer.cli import docgen

    click.echo(docgen.completion_scripts()[docgen.COMPLETION_FILES[shell]], nl=False)


@click.group(cls=SuggestingGroup,
             short_help="TheDiscDb: what each title of a known disc is.")
def discdb():
    """TheDiscDb (thediscdb.com) labels every title of a disc: the movie, each episode
    (season and number), each extra and its type. Import a local copy of its data and
    `scan` names the discs it knows (no review) and gives their titles its roles.

    \b
    Example:
      git clone --depth 1 https://github.com/TheDiscDb/data ~/thediscdb-data
      digitizer discdb import ~/thediscdb-data
    """


@discdb.command("import", short_help="Index a local copy of TheDiscDb/data.")
@click.argument("path", type=click.Path(exists=True, file_okay=False))
@pass_env
def discdb_import(env, path):
    """Read PATH (a clone of github.com/TheDiscDb/data) into the catalog's index: content
    hash -> title, year, release and what each title is. Run it again after a `git pull`.

    \b
    Example:
      digitizer discdb import ~/thediscdb-data
    """
    from digitizer import discdb as records

    count = env.catalog.discdb_import(records.read_repository(path))
    click.echo(json_dumps({"path": path, "discs": count, "indexed": env.catalog.discdb_count()}))


@click.group(short_help="Find a CD drive's read offset.")
def offset():
    """A CD drive's read offset: the samples by which it shifts the audio it reads, which
    every rip must correct to match AccurateRip and everyone else's rips.

    \b
    Example:
      digitizer offset find /dev/sr0 --save
    """


@offset.command("find", short_help="Find the drive's read offset from a disc AccurateRip knows.")
@click.argument("source", shell_complete=complete_sources)
@click.option("--save", is_flag=True,
              help='Write it into the config as [drives."VENDOR MODEL"] read_offset.')
@pass_env
def offset_find(env, source, save):
    """Find the read offset of the drive holding SOURCE (an audio CD AccurateRip knows):
    a few tracks are read with no correction and their AccurateRip checksums tried at
    every offset within +-2940 samples, the most common offsets first; the one that makes
    the first track match is confirmed on two more. Prints {"read_offset": N, ...} as
    JSON when piped, a sentence on a terminal. A disc AccurateRip does not know is an
    error (exit 1): try another.

    \b
    Example:
      digitizer offset find /dev/sr0
      digitizer offset find /dev/sr0 --save
      digitizer offset find shifted.cue        (an image read by an uncorrected drive)
    """
    from digitizer import config as cfgmod
    from digitizer.cli.common import stdout_is_terminal
    from digitizer.errors import UsageError, warn
    from digitizer.formats import cdoffset
    from digitizer.steps.detect import normalise

    source = normalise(source)
    found = cdoffset.find(source, env.cfg, env.catalog, env.cfg.path_of("staging"),
                          say=lambda text: warn(text, "note"))
    found["saved"] = None
    if save:
        if not found["drive"]:
            raise UsageError(f"{source} is not a drive that names itself: nothing to save "
                             "the offset for (--read-offset gives it for one run)")
        cfgmod.save_drive_offset(env.cfg.path, found["drive"], found["read_offset"])
        found["saved"] = str(env.cfg.path)
    if stdout_is_terminal():
        who = found["drive"] or source
        click.echo(f"The read offset of {who} is {found['read_offset']:+d} samples (tracks "
                   f"{', '.join(map(str, found['tracks']))} accurate, confidence up to "
                   f"{found['confidence']})"
                   + (f"; saved in {found['saved']}." if found["saved"] else "."))
    else:
        click.echo(json_dumps(found))


@click.group(short_help="Set up the Dask cluster the transcodes go to.")
def cluster():
    """The Dask cluster of config `cluster`: its scheduler, its workers and this
    coordinator admit each other by TLS certificates from the cluster's own CA.

    \b
    Example:
      digitizer cluster certs ~/digitizer-certs --host nas --host desktop
    """


@cluster.command("certs", short_help="Make the cluster's CA and certificates.")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", "hosts", multiple=True, required=True,
              metavar="NAME[=ADDRESS,...]",
              help="A machine that runs `dask worker` (repeat for each), with the other "
                   "names and IP addresses it is reached by; all go into its certificate.")
@click.option("--scheduler", metavar="NAME[=ADDRESS,...]",
              help="The machine of `dask scheduler` (default: the first --host).")
@click.option("--coordinator", metavar="NAME[=ADDRESS,...]",
              show_default="this machine's name",
              help="The machine that runs digitizer (rips, and sends the transcodes).")
@click.option("--port", type=click.IntRange(1, 65535), default=8786, show_default=True,
              help="The scheduler's port, for the commands printed.")
@click.option("--days", type=click.IntRange(1, 3650), default=825, show_default=True,
              help="How long the certificates are valid (the CA: ten years).")
@click.option("--new-ca", is_flag=True,
              help="Make a new CA even if FOLDER has one (every machine then needs its new "
                   "certificate at once).")
def cluster_certs(folder, hosts, scheduler, coordinator, port, days, new_ca):
    """Make a CA in FOLDER (or keep the one there) and, signed by it, a certificate and
    key for the scheduler, for each worker (--host) and for this coordinator, all
    readable by their owner only; then print where each goes, the `dask scheduler` and
    `dask worker` command lines and the config keys. Run it again to renew them: the CA
    stays, so one machine at a time can take its new files.

    \b
    Example:
      digitizer cluster certs ~/digitizer-certs --host nas=192.168.1.10 --host desktop
      digitizer cluster certs ~/digitizer-certs --host nas --host desktop --days 365
    """
    from digitizer import certs

    made = certs.make(folder, list(hosts), scheduler=scheduler, coordinator=coordinator,
                      days=days, new_ca=new_ca)
    click.echo(certs.instructions(made, port), nl=False)
