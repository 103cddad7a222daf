"""Every README sentence that promises a behaviour names the tests that would fail without
it (issue 29). Each entry is words of the README (whitespace aside) and the tests that hold
it; the check fails when the README no longer says it (update the list with the README) or
a named test is gone (a promise lost its test). UNTESTED lists what is promised and not
yet tested, so that stays said too."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROMISES = [
    ("installs the Debian packages it needs",
     ["test_setup.py::test_every_program_the_tests_call_is_installed_by_make_setup",
      "test_setup.py::test_the_readme_names_the_packages_make_setup_installs"]),
    ("Nothing half-written is ever taken as finished",
     ["test_pipeline.py::test_failing_encoder_leaves_nothing_that_looks_finished",
      "test_unattended.py::test_kill_during_rip_then_resume",
      "test_failures.py::test_kill_at_twenty_random_points_then_resume"]),
    ("`00800.mpls` is title 800",
     ["test_manifest_bluray.py::test_manifest_of_a_bluray_validates_and_describes_its_playlists",
      "test_bluray_steps.py::test_movie_from_image_and_folder_fills_the_library_identically"]),
    ("`rip` stops with one line and exit 4 instead of writing garbage",
     ["test_bluray_steps.py::test_encrypted_disc_is_named_and_waits_without_a_garbage_rip"]),
    ("the disc waits in `digitizer review` (reason `decoys`, the candidates listed) until "
     "TheDiscDb's record or you say which it is",
     ["test_discdb_decoys.py::test_a_records_label_settles_the_decoys_and_no_person_is_asked",
      "test_bluray_steps.py::test_decoy_disc_files_the_extended_cut_and_holds_the_decoys"]),
    ("transcoded with `preset_uhd`",
     ["test_scan_units.py::test_a_source_taller_than_1080_lines_gets_the_uhd_preset"]),
    ("each track is read twice and the reads compared (test & copy)",
     ["test_cd.py::test_a_track_whose_reads_differ_fails_by_name"]),
    ("Malformed input, or a field of the wrong type, is one clear line naming the field (exit 2)",
     ["test_failures.py::test_json_of_the_wrong_shape_is_one_line_naming_the_field",
      "test_identify.py::test_malformed_json_on_stdin"]),
    ("Input JSON chooses what to work on, never where files are written",
     ["test_failures.py::test_piped_json_never_decides_where_files_are_written",
      "test_failures.py::test_a_piped_path_never_decides_where_transcode_writes"]),
    ("poll the drives (one ioctl each, ~0 CPU when idle)",
     ["test_drives.py::test_watch_rips_a_disc_when_it_arrives_ejects_it_and_never_rips_it_twice"]),
    ("a known one resumes and is never ripped twice (the tray-closes-itself loop)",
     ["test_drives.py::test_watch_rips_a_disc_when_it_arrives_ejects_it_and_never_rips_it_twice",
      "test_unattended.py::test_same_disc_again_is_not_ripped_again"]),
    ("its main title and extras ripped, and the drive ejected",
     ["test_drives.py::test_watch_rips_a_disc_when_it_arrives_ejects_it_and_never_rips_it_twice",
      "test_drives.py::test_eject_after_rip_false_leaves_the_tray_closed"]),
    ("One lock per drive keeps a udev-started `watch --once` and a running `watch` from "
     "reading the same drive",
     ["test_drives.py::test_a_drive_being_read_by_one_process_is_left_alone_by_another"]),
    ("SIGTERM or Ctrl-C stops claiming work, stops ffmpeg, and hands running steps back as "
     "pending", ["test_unattended.py::test_sigterm_stops_watch_and_hands_steps_back"]),
    ("`watch --once` and `resume` exit with the worst exit code of what failed",
     ["test_failures.py::test_watch_once_gives_the_same_exit_codes_as_scan"]),
    ("on another host its heartbeat stopped for 2 minutes",
     ["test_hosts.py::test_another_hosts_claim_is_released_when_its_heartbeat_stops",
      "test_hosts.py::test_resume_takes_over_a_claim_only_when_its_host_went_quiet_for_two_minutes"]),
    ("its pid is gone or a zombie",
     ["test_foundation.py::test_stale_claim_of_a_dead_worker_is_released",
      "test_foundation.py::test_a_zombie_worker_is_dead"]),
    ("(`--json` for one object, `--follow`",
     ["test_status_follow.py::test_follow_prints_the_state_again_as_it_changes_until_ctrl_c",
      "test_status_follow.py::test_follow_on_a_terminal_redraws_a_cleared_screen"]),
    ("A failing hook is a warning, never an error",
     ["test_unattended.py::test_events_reach_the_webhook_and_a_failing_hook_is_only_a_warning"]),
    ("Every name digitizer writes is checked in the tests with guessit",
     ["test_library_names.py::test_every_name_parses_back"]),
    ("a move within a filesystem is a rename; across filesystems it is copy, fsync, size "
     "check, rename, then delete",
     ["test_insert_modes.py::test_a_move_within_a_filesystem_is_a_rename",
      "test_insert_modes.py::test_a_move_to_another_filesystem_is_copied_verified_then_deleted"]),
    ("`--mode move|hardlink|copy`",
     ["test_insert_modes.py::test_hardlink_links_the_same_inode",
      "test_insert_modes.py::test_copy_makes_a_second_file_with_the_same_bytes"]),
    ("A different file already at the name is never overwritten",
     ["test_pipeline.py::test_insert_conflicts_and_hostile_names"]),
    ("with its SHA-256 in the marker",
     ["test_data_discs.py::test_a_data_disc_on_a_block_device_is_imaged_bit_exact"]),
    ("(`image_retries` retry passes)",
     ["test_data_discs.py::test_a_resume_makes_image_retries_passes_over_the_unreadable_area",
      "test_data_discs.py::test_unreadable_sectors_are_held_back_then_retried_after_cleaning"]),
    ("`data_library` moves it",
     ["test_drives.py::test_eject_after_rip_false_leaves_the_tray_closed"]),
    ("A name you give (`--movie`, `--show`, `[sources]`) still wins",
     ["test_discdb.py::test_known_disc_is_inserted_with_the_records_names_and_no_review"]),
    ("`scan` writes the same as `disc.odm.json` in the disc's staging folder",
     ["test_manifest.py::test_manifest_of_every_sample_disc_validates",
      "test_manifest_bluray.py::test_manifest_of_a_bluray_validates_and_describes_its_playlists"]),
    ("the same disc as a drive, an ISO or a copied folder gives the same value",
     ["test_discid.py::test_same_ids_from_every_container",
      "test_drives.py::test_detect_reads_the_drive_state_from_its_ioctls"]),
    ("software with a one-line notice when the hardware does not work",
     ["test_hardware_presets.py::test_a_hardware_preset_uses_the_gpu_exactly_when_it_works_here"]),
    ('audio = "aac-stereo"',
     ["test_custom_presets.py::test_a_presets_audio_and_subtitle_choices"]),
    ("a worker running another version is refused",
     ["test_cluster_versions.py::test_a_worker_of_another_version_is_refused_and_nothing_is_filed"]),
    ("the command stops with one line and exit code 5",
     ["test_cluster.py::test_the_scheduler_gone_leaves_the_step_pending"]),
    ("Every key can also be set as `DIGITIZER_<KEY>` in the environment",
     ["test_foundation.py::test_file_then_environment_override"]),
    ("`NO_COLOR` turns bold off",
     ["test_terminal.py::test_no_color_and_no_warnings_from_progress"]),
    ("`digitizer catalog rebuild` recreates the catalog from them",
     ["test_unattended.py::test_catalog_rebuilt_from_markers_equals_the_original"]),
    ("`eject_after_rip`",
     ["test_drives.py::test_eject_after_rip_false_leaves_the_tray_closed"]),
]

# Promised, and no test would fail without it yet (with why it is left).
UNTESTED = [
    # A task that kills every worker it is given: Dask's allowed-failures is not exercised
    # past one dead worker.
    "a task that kills more workers fails with a message",
    # `insert --part N` from the command line: names.py's part names are tested with guessit,
    # the option itself is not.
    "(--part 1)",
]


def _readme() -> str:
    return " ".join((ROOT / "README.md").read_text().split())


def _tests() -> set[str]:
    found = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                found.add(f"{path.name}::{node.name}")
    return found


def test_every_listed_promise_is_in_the_readme_and_its_tests_exist():
    readme, tests = _readme(), _tests()
    missing_text = [p for p, _ in PROMISES if " ".join(p.split()) not in readme]
    assert missing_text == [], "the README no longer says these: update PROMISES"
    missing_tests = sorted({t for _, named in PROMISES for t in named} - tests)
    assert missing_tests == []


def test_the_untested_list_is_still_what_the_readme_says():
    readme = _readme()
    assert [p for p in UNTESTED if p not in readme] == []


def test_the_check_is_real():
    assert "no such promise" not in _readme()
    assert re.search(r"test_\w+\.py::test_\w+", next(iter(_tests())))
