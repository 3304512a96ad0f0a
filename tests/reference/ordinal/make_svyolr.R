# Survey-shaped simulated data (444 respondents in 98 municipalities, sampling weights,
# 4-category Likert outcome, binary item) and design-based fits with R survey:
# svyolr (proportional odds) and svyglm(family = quasibinomial).
suppressPackageStartupMessages({library(survey); library(MASS)})
source("_common.R")
set.seed(20261127)
G <- 98
mun <- data.frame(municipality = 1:G,
                  log_pop = round(rnorm(G, 10.3, 0.6), 3),
                  pressure = round(rnorm(G, 0, 1), 3),
                  region = sample(c("Hovedstaden", "Midtjylland", "Nordjylland", "Sjaelland",
                                    "Syddanmark"), G, replace = TRUE),
                  bloc = sample(c("red", "blue"), G, replace = TRUE),
                  u = rnorm(G, 0, 0.5))
n_g <- as.vector(rmultinom(1, 444 - G, rep(1, G))) + 1
d <- mun[rep(1:G, n_g), ]
n <- nrow(d)
d$area <- sample(c("children", "elderly", "culture", "social"), n, replace = TRUE)
d$weight <- round(runif(n, 0.5, 3), 3)
eta <- 0.6 * (d$log_pop - 10.3) - 0.4 * d$pressure + 0.3 * (d$bloc == "red") +
  c(children = 0, elderly = 0.5, culture = -0.4, social = 0.2)[d$area] + d$u
lat <- eta + rlogis(n)
d$y <- cut(lat, c(-Inf, -1, 0.5, 2, Inf), labels = c("1", "2", "3", "4"))
d$z <- as.integer(eta + rlogis(n) > 0.3)
d$x1 <- round(d$log_pop - 10.3, 4)
d$x2 <- d$pressure
d$u <- NULL
write.csv(transform(d, y = as.integer(as.character(y))), "survey_sim.csv", row.names = FALSE)
des <- svydesign(ids = ~municipality, weights = ~weight, data = d)
f <- y ~ x1 + x2 + region + bloc + area
# tight optim tolerance: the default reltol (1e-8) leaves ~1e-4 relative error
m <- svyolr(f, design = des, control = list(reltol = 1e-14, maxit = 2000))
est <- c(m$zeta, coef(m)[!names(coef(m)) %in% names(m$zeta)])
v <- vcov(m)
se <- sqrt(diag(v))[names(est)]
write_json(dump_fit(est, se, NA, list(formula = deparse(f))), "svyolr_sim.json",
           digits = NA, auto_unbox = TRUE, pretty = TRUE)
# same model by (unweighted) polr for a model-based check
p <- polr(f, data = d, Hess = TRUE, control = list(reltol = 1e-14, maxit = 2000))
est <- c(p$zeta, coef(p))
write_json(dump_fit(est, sqrt(diag(vcov(p)))[names(est)], as.numeric(logLik(p))),
           "polr_sim.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
g <- svyglm(z ~ x1 + x2 + region + bloc + area, design = des, family = quasibinomial())
write_json(dump_fit(coef(g), sqrt(diag(vcov(g))), NA, list(degf = degf(des))),
           "../logistic/svyglm_sim.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
# stratified design (strata = region, PSUs nested in strata) with a finite population
# correction of 40 PSUs per stratum
d$fpc <- 40
des_s <- svydesign(ids = ~municipality, strata = ~region, weights = ~weight, fpc = ~fpc,
                   data = d, nest = TRUE)
fs <- y ~ x1 + x2 + bloc + area
ms <- svyolr(fs, design = des_s, control = list(reltol = 1e-14, maxit = 2000))
est <- c(ms$zeta, coef(ms)[!names(coef(ms)) %in% names(ms$zeta)])
write_json(dump_fit(est, sqrt(diag(vcov(ms)))[names(est)], NA,
                    list(formula = deparse(fs), degf = degf(des_s))),
           "svyolr_sim_strata.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
