-- Class identification in SQL: the segment of a stored k-means model
-- nearest to one row of raw feature values, given as a LIST in the
-- model's feature order (kb_segment.feature_names). Each value is
-- standardised with the stored center and scale, its squared distance to
-- each standardised centroid summed feature by feature, and the nearest
-- segment wins (the lowest segment_id on a tie), as cluster.Model.Assign
-- does. NULL when the model does not exist, the list has a NULL or has
-- another length than the model's features, or a value is NaN or infinite.
--   SELECT ckm_segment_of(3, [recency, frequency, monetary]) FROM my_features;
CREATE OR REPLACE MACRO ckm_segment_of(seg_model_id, features) AS (
    SELECT s.segment_id FROM kb_segment s
    WHERE s.model_id = seg_model_id
      AND list_count(features) = len(s.center)
      AND len(features) = len(s.center)
      AND list_bool_and(list_transform(features, v -> isfinite(CAST(v AS DOUBLE))))
    ORDER BY list_sum(list_transform(list_zip(CAST(features AS DOUBLE[]), s.center, s.scale, s.centroid),
        t -> ((t[1] - t[2]) / t[3] - t[4]) * ((t[1] - t[2]) / t[3] - t[4]))), s.segment_id
    LIMIT 1
);
