//! The store conformance suite: what every `Store` backend must do, written once.
//!
//! Each test is a `pub async fn(store: Arc<dyn Store>)` that receives a fresh, empty, migrated
//! store, so a backend's test file only says how to open one and invokes
//! [`conformance_tests!`]; the list of tests below is the single list both backends run.

// Textual macros first, so every submodule below can use them.

/// Asserts that a store call failed with the given `StoreError` pattern, showing what it got.
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        match $result {
            Err($pattern) $(if $guard)? => {}
            other => panic!("expected Err({}), got {other:?}", stringify!($pattern)),
        }
    };
}

pub mod catalogue;
pub mod checkin;
pub mod credential_policy;
pub mod entry_policies;
pub mod fixtures;
pub mod gate_terminals;
pub mod holds;
pub mod idempotency;
pub mod model;
pub mod orders;
pub mod payments;
pub mod phone;
pub mod presentations;
pub mod races;
pub mod staff_places;
pub mod support;
pub mod waiting_room;

/// Generates one `#[tokio::test]` per conformance test. `$open` is an async fn in the calling
/// file returning `Some((Arc<dyn Store>, guard))`; the guard (a temp dir, a scratch database)
/// lives until the test ends. `None` means the backend was skipped explicitly (PostgreSQL with
/// `ADMIT_SKIP_POSTGRES=1`, said loudly on stderr by `open`); the test then returns at once.
macro_rules! conformance_tests {
    ($open:ident) => {
        $crate::conformance::conformance_tests!(@modules $open;
            catalogue {
                created_events_are_listed_with_their_venue,
                event_detail_has_sessions_and_priced_grades,
                a_staff_token_for_an_unknown_organiser_is_not_found_and_adds_nothing,
                unknown_events_sessions_and_gates_are_not_found,
                availability_counts_every_grade_of_each_session,
                every_session_lists_its_own_free_copy_of_the_seats,
                event_keys_round_trip_and_public_keys_are_published,
                a_reused_key_id_is_a_conflict,
                staff_are_found_by_token_hash_only,
                a_gate_is_found_with_its_venue_and_organiser,
                an_event_at_another_organisers_venue_is_refused,
                a_duplicate_seat_label_is_refused_and_nothing_is_created,
            }
            holds {
                holding_explicit_seats_marks_them_held,
                a_new_hold_is_answered_exactly_as_it_reads_back,
                a_hold_including_a_taken_seat_fails_and_changes_nothing,
                a_hold_id_already_taken_is_a_conflict_and_changes_nothing,
                a_seat_of_another_session_is_invalid,
                a_seat_listed_twice_is_invalid,
                best_available_picks_adjacent_seats_in_the_best_row,
                best_available_requiring_adjacency_without_a_run_is_sold_out,
                best_available_on_a_fragmented_grade_picks_what_the_domain_rule_picks,
                ga_units_are_held_within_the_quota_and_refused_beyond_it,
                quantities_outside_one_to_the_maximum_are_invalid,
                a_grade_must_be_held_in_its_own_seating_mode,
                cancelling_releases_at_once_and_a_second_cancel_is_a_no_op,
                cancelling_a_paid_hold_is_refused,
                expiry_releases_exactly_the_holds_that_are_due,
            }
            payments {
                a_payment_begins_as_pending_on_an_active_hold,
                only_one_of_two_concurrent_payments_for_a_hold_may_be_pending,
                a_payment_for_another_amount_or_currency_is_invalid,
                a_payment_on_an_expired_cancelled_or_paid_hold_is_refused,
                settling_moves_payments_to_declined_timed_out_or_refunded,
                a_declined_payment_keeps_the_hold_payable,
            }
            orders {
                completing_an_order_issues_tickets_and_sells_the_seats,
                a_completed_order_is_answered_exactly_as_it_reads_back,
                completing_an_order_twice_returns_the_same_order,
                completing_after_the_hold_expired_sells_nothing,
                a_ticket_count_that_differs_from_the_hold_is_invalid,
                tickets_must_match_the_seats_and_grades_of_the_hold,
            }
            checkin {
                the_manifest_lists_tickets_with_codes_seats_grades_and_status,
                a_single_entry_ticket_admits_once_then_is_already_used,
                a_gate_admitting_another_session_denies_wrong_session,
                an_older_credential_version_is_revoked,
                scans_outside_the_validity_window_are_denied,
                an_unknown_ticket_is_denied,
                a_multi_entry_ticket_admits_up_to_its_limit,
                scans_denied_before_reaching_a_ticket_can_be_logged,
                thirty_two_gates_scanning_one_ticket_at_once_admit_exactly_once,
            }
            entry_policies {
                a_pass_out_ticket_is_refused_while_inside_and_admitted_again_after_an_exit,
                an_exit_of_a_holder_who_is_not_inside_is_denied,
                an_exit_scan_of_a_ticket_without_pass_out_is_denied_and_takes_nothing,
                a_multi_day_pass_is_admitted_once_per_session_and_denied_a_second_time_in_one,
                a_multi_day_pass_is_denied_at_a_session_of_another_event,
                a_single_session_ticket_is_still_denied_at_the_events_other_session,
                thirty_two_gates_racing_pass_out_entries_and_exits_admit_exactly_once_each,
                thirty_two_gates_racing_a_multi_day_pass_on_day_two_admit_exactly_once,
                uploaded_pass_outs_reconcile_and_an_exit_that_cannot_apply_is_a_conflict,
                an_uploaded_multi_day_pass_counts_per_session,
                an_unusable_entry_policy_is_refused_and_nothing_is_created,
            }
            presentations {
                a_phone_presentation_admits_once_even_on_a_multi_entry_ticket,
                a_pass_out_exit_and_re_entry_follow_the_same_rule,
                thirty_two_gates_shown_the_same_presentation_admit_it_once,
                an_uploaded_replay_is_a_conflict_and_the_feed_carries_the_last_counter,
            }
            idempotency {
                a_new_key_proceeds_and_a_repeat_in_flight_is_in_progress,
                a_key_reused_for_a_different_request_is_refused,
                a_finished_request_is_replayed_exactly,
                a_released_claim_runs_again,
                an_abandoned_claim_is_taken_over_after_its_lease,
                an_expired_record_is_forgotten_and_purged,
                an_expired_record_not_yet_purged_is_claimed_anew,
            }
            races {
                racing_buyers_of_best_available_seats_sell_each_seat_once,
                racing_buyers_of_random_explicit_seats_sell_each_seat_once,
                racing_buyers_of_ga_units_never_exceed_the_quota,
            }
            model {
                random_operations_agree_with_the_inventory_model,
            }
            gate_terminals {
                a_device_is_enrolled_found_by_its_token_and_revoked,
                enrolling_at_an_unknown_gate_or_revoking_an_unknown_device_is_not_found,
                venue_sessions_are_those_at_the_venue_not_ended_before_the_cut_off,
                the_ticket_feed_pages_in_id_order_and_then_sends_every_change,
                an_uploaded_admit_takes_an_entry_and_a_repeat_upload_answers_the_same,
                two_offline_gates_admitting_one_single_entry_ticket_make_exactly_one_conflict,
                an_uploaded_admit_after_an_online_admit_is_a_conflict_showing_the_online_side,
                uploaded_admits_the_online_check_would_refuse_are_conflicts_with_its_reason,
                uploaded_denials_are_recorded_and_a_multi_entry_ticket_counts_each_admit,
                a_bad_upload_is_refused_whole_and_changes_nothing,
                entries_are_counted_per_gate_and_time_bucket,
                sixteen_devices_uploading_one_ticket_at_once_count_it_once,
            }
            waiting_room {
                an_event_without_a_waiting_room_has_no_queue,
                early_arrivals_are_drawn_in_lottery_order_at_opening,
                buyers_are_admitted_in_order_at_the_configured_rate,
                joining_again_keeps_the_same_place,
                turning_the_waiting_room_off_forgets_the_queue,
                concurrent_joins_get_distinct_places,
            }
            staff_places {
                staff_places_lists_every_venue_with_its_gates,
                staff_places_lists_sessions_in_the_window_soonest_first,
                staff_places_never_shows_another_organisers_venues_or_sessions,
            }
            credential_policy {
                a_new_event_has_the_default_credential_policy,
                a_credential_policy_is_replaced_and_read_back_for_its_event_only,
                an_invalid_credential_policy_is_refused_and_changes_nothing,
                an_unknown_event_has_no_credential_policy,
            }
            phone {
                a_login_link_grants_its_order_once,
                the_confirmation_link_is_stored_with_the_order_and_with_a_repeated_completion,
                an_expired_login_link_grants_nothing,
                expired_and_used_login_links_are_purged_and_fresh_ones_kept,
                a_buyer_session_holds_every_order_it_opened_and_no_other,
                the_ticket_view_names_event_venue_round_grade_and_quantity,
                binding_a_device_re_issues_the_ticket_and_logs_it,
                a_bound_ticket_moves_to_another_key_only_when_asked,
                two_phones_binding_one_ticket_at_once_bind_it_once,
                inspecting_consumes_an_entry_like_a_gate_and_is_logged,
                an_inspection_outside_the_validity_window_uses_nothing,
            }
        );
    };
    (@modules $open:ident; $($module:ident { $($name:ident),* $(,)? })*) => {
        $(
            mod $module {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() {
                        let Some((store, _guard)) = super::$open().await else { return };
                        crate::conformance::$module::$name(store).await;
                    }
                )*
            }
        )*
    };
}

pub(crate) use conformance_tests;
