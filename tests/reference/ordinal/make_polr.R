# Reference fit of MASS::polr on the housing data with frequency weights (Freq).
# polr's standard errors come from optim's finite-difference Hessian (about 1e-4 relative).
suppressPackageStartupMessages(library(MASS))
source("_common.R")
write.csv(data.frame(Sat = as.character(housing$Sat), Infl = as.character(housing$Infl),
                     Type = as.character(housing$Type), Cont = as.character(housing$Cont),
                     Freq = housing$Freq), "housing.csv", row.names = FALSE)
m <- polr(Sat ~ Infl + Type + Cont, weights = Freq, data = housing, Hess = TRUE,
          control = list(reltol = 1e-14, maxit = 2000))
est <- c(m$zeta, coef(m))
v <- vcov(m)
se <- sqrt(diag(v))[names(est)]
write_json(dump_fit(est, se, as.numeric(logLik(m)),
                    list(levels = list(Sat = levels(housing$Sat), Infl = levels(housing$Infl),
                                       Type = levels(housing$Type), Cont = levels(housing$Cont)))),
           "polr_housing.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
