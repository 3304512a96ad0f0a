# Poisson-sampling reference fixtures for civmodels.design.SurveyDesign(pps="poisson").
# Run from this directory:  Rscript make_poisson.R
# Reads sim_survey.csv (written by make_survey.R: ~450 respondents in 98
# municipalities, weights w in [1, 3.5]); treats each row as a unit included independently
# with probability p = 1/w (R's poisson_sampling) and writes poisson_reference.json.
suppressPackageStartupMessages({library(survey); library(jsonlite)})
sim <- read.csv("sim_survey.csv")
sim$p <- 1 / sim$w
sim$mot_f <- factor(sim$mot)
sim$social <- as.numeric(sim$area == "social")
sim$top <- as.numeric(sim$mot %in% c("3", "4"))
sim$top[is.na(sim$mot)] <- NA

out <- list(versions = list(R = R.version.string, survey = as.character(packageVersion("survey"))))
est <- function(x) {
  v <- as.matrix(vcov(x))
  list(names = names(coef(x)), estimate = unname(coef(x)), vcov = unname(v),
       se = unname(sqrt(diag(v))))
}

dp <- svydesign(ids = ~1, probs = ~p, pps = poisson_sampling(sim$p), data = sim)
out$degf <- degf(dp)
out$mean <- est(svymean(~u + pressure_high, dp))
out$total <- est(svytotal(~u + pressure_high, dp))
out$prop_mot <- est(svymean(~mot_f, dp, na.rm = TRUE))          # missing values: a domain
by <- svyby(~u, ~pressure_high, dp, svymean, covmat = TRUE)
out$by_pressure <- list(estimate = unname(coef(by)), vcov = unname(as.matrix(vcov(by))))
out$subset_social <- est(svymean(~u, subset(dp, area == "social")))
a <- svychisq(~area + pressure_high, dp, statistic = "F")
out$chisq_area_pressure <- list(F = unname(a$statistic), ndf = unname(a$parameter[1]),
                                ddf = unname(a$parameter[2]), p_F = unname(a$p.value))
# svyglm cannot drop rows with missing values from a pps design (R's `[.pps` fails), so
# the models use the rows that answered; for a Poisson sample that is the same variance.
cc <- sim[!is.na(sim$mot), ]
dcc <- svydesign(ids = ~1, probs = ~p, pps = poisson_sampling(cc$p), data = cc)
g <- svyglm(top ~ pressure_high + social, dcc, family = quasibinomial())
out$logit <- c(est(g), list(df_residual = g$df.residual))
gl <- svyglm(u ~ pressure_high + social, dcc)
out$linear <- est(gl)

# calibrated weights with the design's probabilities (R keeps Delta-check = diag(1 - p))
pop <- c(`(Intercept)` = 1000, areahealth = 250, areaschool = 260, areasocial = 240)
dc <- calibrate(dp, ~area, pop, calfun = "linear")
out$calibrated_linear_weights <- unname(weights(dc))
m_cal <- svymean(~u + pressure_high, dc)
out$calibrated_linear_mean <- est(m_cal)
# survey 4.1-1's ppsvar computes the calibration (GREG) residuals into `y` but then uses the
# unadjusted values `x`, so the variance above ignores the calibration. The variance with the
# residuals, from R's own calibration QR and the Poisson formula sum (1 - p) e e':
ps <- dc$postStrata[[1]]
x <- sweep(as.matrix(sim[, c("u", "pressure_high")]), 2, coef(m_cal))
x <- x * weights(dc) / sum(weights(dc))
e <- qr.resid(ps$qr, x / ps$w) * ps$w
out$calibrated_linear_mean_residual_vcov <- unname(as.matrix(t(e) %*% (e * (1 - sim$p))))

write_json(out, "poisson_reference.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
