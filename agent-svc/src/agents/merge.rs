//! `PATCH /aiAgent/{id}`: a recursive deep merge. Objects merge key by key, everything else
//! (arrays included) is replaced wholesale, `null` sets a field to null, and dotted keys are plain
//! keys, not paths.

use serde_json::Value;

pub fn deep_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        deep_merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn objects_merge_arrays_replace_and_dotted_keys_stay_keys() {
        let mut doc = json!({
            "name": "A",
            "channels": ["email", "chat"],
            "settings": {"personality": {"style": 1, "formality": 2}, "parameters": [{"id": 1}]}
        });
        deep_merge(
            &mut doc,
            &json!({
                "channels": ["phone"],
                "settings": {"personality": {"style": 3}, "parameters": [], "a.b": 1},
                "description": null
            }),
        );
        assert_eq!(
            doc,
            json!({
                "name": "A",
                "channels": ["phone"],
                "settings": {"personality": {"style": 3, "formality": 2}, "parameters": [], "a.b": 1},
                "description": null
            })
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-5i64..5).prop_map(Value::from),
            "[a-c]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                prop::collection::btree_map("[a-d]", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// An independent statement of the merge: the value at every key path of the result.
    fn expected_at(target: &Value, patch: &Value) -> Value {
        match (target, patch) {
            (Value::Object(t), Value::Object(p)) => {
                let mut out = t.clone();
                for (k, pv) in p {
                    let merged = match t.get(k) {
                        Some(tv @ Value::Object(_)) if pv.is_object() => expected_at(tv, pv),
                        _ => pv.clone(),
                    };
                    out.insert(k.clone(), merged);
                }
                Value::Object(out)
            }
            _ => patch.clone(),
        }
    }

    proptest! {
        #[test]
        fn merge_matches_its_definition_and_is_idempotent(target in json_value(), patch in json_value()) {
            let mut merged = target.clone();
            deep_merge(&mut merged, &patch);
            prop_assert_eq!(&merged, &expected_at(&target, &patch));
            let mut twice = merged.clone();
            deep_merge(&mut twice, &patch);
            prop_assert_eq!(&twice, &merged, "applying the same patch again changes nothing");
            if let (Value::Object(t), Value::Object(p)) = (&target, &patch) {
                for key in t.keys().filter(|k| !p.contains_key(*k)) {
                    prop_assert_eq!(&merged[key], &t[key], "keys the patch does not name are kept");
                }
            }
        }
    }
}
