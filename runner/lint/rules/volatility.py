"""Which function calls make a column's default volatile, so that ADD COLUMN rewrites the table.

Invariant: a call is volatile when PostgreSQL says so: the built-in functions whose
every overload is VOLATILE in pg_catalog on some server from 15 to 18
(``VOLATILE_BUILTINS``; tests/test_lint_oracle.py compares it with the server's
pg_proc), the well-known extension functions below, and the chain's own functions
declared VOLATILE or without a volatility (PostgreSQL's default). A call of any
other function counts as not volatile: the server evaluates it once for every row.
"""

from __future__ import annotations

from pglast import ast

from runner.lint.model import qualified, walk

# pg_catalog functions VOLATILE in every overload on PostgreSQL 15 to 18 (trigger, void
# and internal results left out: no default calls those).
VOLATILE_BUILTINS = frozenset(
    """
    amvalidate array_sample array_shuffle bernoulli
    binary_upgrade_logical_slot_has_caught_up brin_summarize_new_values
    brin_summarize_range brinhandler bthandler clock_timestamp current_query currtid2
    currval cursor_to_xml cursor_to_xmlschema gen_random_uuid gin_clean_pending_list
    ginhandler gisthandler hashhandler heap_tableam_handler lastval lo_close lo_creat
    lo_create lo_export lo_from_bytea lo_get lo_import lo_lseek lo_lseek64 lo_open
    lo_tell lo_tell64 lo_truncate lo_truncate64 lo_unlink loread lowrite nextval
    pg_advisory_unlock pg_advisory_unlock_shared pg_available_wal_summaries
    pg_backup_start pg_backup_stop pg_blocking_pids pg_cancel_backend
    pg_collation_actual_version pg_control_checkpoint pg_control_init
    pg_control_recovery pg_control_system pg_copy_logical_replication_slot
    pg_copy_physical_replication_slot pg_create_logical_replication_slot
    pg_create_physical_replication_slot pg_create_restore_point pg_current_logfile
    pg_current_wal_flush_lsn pg_current_wal_insert_lsn pg_current_wal_lsn
    pg_database_collation_actual_version pg_database_size pg_export_snapshot pg_get_aios
    pg_get_backend_memory_contexts pg_get_loaded_modules pg_get_multixact_members
    pg_get_sequence_data pg_get_shmem_allocations pg_get_shmem_allocations_numa
    pg_get_wait_events pg_get_wal_replay_pause_state pg_get_wal_resource_managers
    pg_get_wal_summarizer_state pg_hba_file_rules pg_ident_file_mappings
    pg_import_system_collations pg_indexes_size pg_is_in_recovery
    pg_is_wal_replay_paused pg_isolation_test_session_is_blocked pg_jit_available
    pg_last_committed_xact pg_last_wal_receive_lsn pg_last_wal_replay_lsn
    pg_last_xact_replay_timestamp pg_lock_status pg_log_backend_memory_contexts
    pg_log_standby_snapshot pg_logical_emit_message pg_logical_slot_get_binary_changes
    pg_logical_slot_get_changes pg_logical_slot_peek_binary_changes
    pg_logical_slot_peek_changes pg_ls_archive_statusdir pg_ls_dir pg_ls_logdir
    pg_ls_logicalmapdir pg_ls_logicalsnapdir pg_ls_replslotdir pg_ls_summariesdir
    pg_ls_tmpdir pg_ls_waldir pg_nextoid pg_notification_queue_usage
    pg_partition_ancestors pg_partition_tree pg_prepared_xact pg_promote
    pg_read_binary_file pg_read_file pg_read_file_old pg_relation_size pg_reload_conf
    pg_replication_origin_create pg_replication_origin_progress
    pg_replication_origin_session_is_setup pg_replication_origin_session_progress
    pg_replication_slot_advance pg_restore_attribute_stats pg_restore_relation_stats
    pg_rotate_logfile pg_rotate_logfile_old pg_safe_snapshot_blocking_pids
    pg_sequence_last_value pg_show_all_file_settings pg_show_replication_origin_status
    pg_stat_file pg_stat_get_backend_io pg_stat_get_backend_wal pg_stat_get_io
    pg_stat_get_recovery_prefetch pg_stat_get_xact_blocks_fetched
    pg_stat_get_xact_blocks_hit pg_stat_get_xact_function_calls
    pg_stat_get_xact_function_self_time pg_stat_get_xact_function_total_time
    pg_stat_get_xact_numscans pg_stat_get_xact_tuples_deleted
    pg_stat_get_xact_tuples_fetched pg_stat_get_xact_tuples_hot_updated
    pg_stat_get_xact_tuples_inserted pg_stat_get_xact_tuples_newpage_updated
    pg_stat_get_xact_tuples_returned pg_stat_get_xact_tuples_updated pg_stat_have_stats
    pg_switch_wal pg_table_size pg_tablespace_size pg_terminate_backend
    pg_total_relation_size pg_try_advisory_lock pg_try_advisory_lock_shared
    pg_try_advisory_xact_lock pg_try_advisory_xact_lock_shared pg_wal_summary_contents
    pg_xact_commit_timestamp pg_xact_commit_timestamp_origin pg_xact_status
    plpgsql_call_handler query_to_xml query_to_xml_and_xmlschema query_to_xmlschema
    random random_normal set_config setval spghandler system timeofday ts_stat
    txid_status uuidv4 uuidv7
    """.split()  # noqa: SIM905 - a list this long reads better as words
)
# Volatile functions of extensions migrations commonly call in defaults (uuid-ossp).
VOLATILE_EXTENSIONS = frozenset({"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4"})


def volatile_call(expression, functions: dict[str, str]) -> str | None:
    """The name of the first volatile function ``expression`` calls, or None.

    ``functions``: the chain's functions so far (the model's signature -> definition).
    """
    for node in walk(expression):
        if not isinstance(node, ast.FuncCall):
            continue
        name = qualified(node.funcname)
        bare = name.removeprefix("pg_catalog.")
        if bare in VOLATILE_BUILTINS or bare in VOLATILE_EXTENSIONS:
            return bare
        if any(_volatile(definition) for key, definition in functions.items()
               if key.startswith(f"{name}(")):  # fmt: skip
            return name
    return None


def _volatile(definition: str) -> bool:
    """A CREATE FUNCTION's volatility, VOLATILE when it names none."""
    from runner import sqltree

    try:
        [raw] = sqltree.parse(definition)
    except Exception:  # the definition parsed once already; stay on the safe side
        return True
    for option in getattr(raw.stmt, "options", None) or ():
        if option.defname == "volatility":
            return option.arg.sval == "volatile"
    return True
