//! General-admission units spread over the shard rows of a grade (PostgreSQL keeps each quota
//! in 16 shards): a claim no single shard can satisfy still takes units scattered over
//! several, so two nodes racing sell exactly the quota and "sold out" is never false.

use super::{race, two_nodes};
use crate::conformance::fixtures::{T0, World};
use crate::conformance::support::{availability_of, hold_units, pay};
use admit_store::StoreError;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn units_scattered_over_shards_still_sell_exactly_the_quota_across_nodes() {
    let Some((nodes, _db)) = two_nodes().await else { return };
    // 64 units over 32 shards: two per shard, so no shard alone can give anyone three.
    let w = World::builder().ga_quota(64).build(&*nodes[0]).await;
    let (session, grade) = (w.session(), w.ga.id);

    let results = race(&nodes, |node, i| async move {
        let hold = hold_units(&*node, session, grade, 3).await?;
        let paid = i % 4 == 0;
        if paid {
            pay(&*node, &hold, T0 + 1).await?;
        }
        Ok::<_, StoreError>((hold, paid))
    })
    .await;

    let mut winners = Vec::new();
    for r in results {
        match r {
            Ok(hold) => winners.push(hold),
            Err(StoreError::SoldOut) => {}
            Err(other) => panic!("a losing buyer got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 21, "21 holds of three fit in 64 units");
    let a = availability_of(&*nodes[1], session, grade).await;
    assert_eq!(a.total, 64);
    assert_eq!(a.held + a.sold, 63, "the winners' units are counted once");

    // The last unit sits wherever the races left it; it still sells, and then no more.
    hold_units(&*nodes[1], session, grade, 1).await.expect("the last unit, wherever it is");
    assert!(matches!(hold_units(&*nodes[0], session, grade, 1).await, Err(StoreError::SoldOut)));

    // Units given back return to the shards they came from and can be held again in one go.
    let unpaid: Vec<_> = winners.iter().filter(|(_, paid)| !paid).map(|(hold, _)| hold).take(2).collect();
    assert_eq!(unpaid.len(), 2, "at most a quarter of the winners paid");
    for hold in unpaid {
        nodes[0].cancel_hold(&hold.id, T0 + 2).await.expect("cancel");
    }
    hold_units(&*nodes[1], session, grade, 6).await.expect("six units back from two cancelled holds");
    let a = availability_of(&*nodes[0], session, grade).await;
    assert_eq!((a.total, a.held + a.sold), (64, 64), "every unit is held or sold exactly once");
}
