# Reference figures for mining/forecast from R's stats::HoltWinters.
# Run (from this folder): Rscript --vanilla r_holtwinters.R
# Writes airpassengers.csv, co2.csv (the series), and r_<name>_fit.csv,
# r_<name>_predict.csv (R's fit and 24-step forecast with 95 % intervals).
options(digits = 17)
emit <- function(name, x, seasonal) {
  write.csv(data.frame(t = seq_along(x), value = as.numeric(x)),
            paste0(name, ".csv"), row.names = FALSE, quote = FALSE)
  hw <- HoltWinters(x, seasonal = seasonal)
  cf <- hw$coefficients
  fit <- data.frame(
    key = c("r_version", "frequency", "n", "seasonal", "alpha", "beta", "gamma", "SSE",
            names(cf)),
    value = c(R.version.string, frequency(x), length(x), seasonal,
              sprintf("%.17g", c(hw$alpha, hw$beta, hw$gamma, hw$SSE, cf))))
  write.csv(fit, paste0("r_", name, "_fit.csv"), row.names = FALSE, quote = FALSE)
  p <- predict(hw, n.ahead = 24, prediction.interval = TRUE, level = 0.95)
  write.csv(data.frame(h = 1:24, fit = sprintf("%.17g", as.numeric(p[, "fit"])),
                       upr = sprintf("%.17g", as.numeric(p[, "upr"])),
                       lwr = sprintf("%.17g", as.numeric(p[, "lwr"]))),
            paste0("r_", name, "_predict.csv"), row.names = FALSE, quote = FALSE)
}
emit("airpassengers", AirPassengers, "multiplicative")
emit("co2", co2, "additive")
